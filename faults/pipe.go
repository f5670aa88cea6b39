package faults

// Pipe calls fn on every item produce makes, in order, on the caller's
// goroutine, while produce makes them on a goroutine of its own, at most
// batches batches of batch items ahead: the decoding of a file on one
// core, its analysis on the other. produce takes batches from free (as fn
// left them: produce empties or reuses them), fills them and sends them on
// full, in order; it returns after sending its last one, or as soon as
// done is closed, which happens when fn panicked. Pipe returns once
// produce has returned (whatever produce set before returning is then
// set), and leaves no goroutine behind, fn panicking or not.
func Pipe[T any](batch, batches int, produce func(free <-chan *[]T, full chan<- *[]T, done <-chan struct{}), fn func(*T)) {
	free := make(chan *[]T, batches)
	for range batches {
		b := make([]T, 0, batch)
		free <- &b
	}
	full := make(chan *[]T, batches)
	done := make(chan struct{})
	go func() {
		defer close(full)
		produce(free, full, done)
	}()
	defer func() {
		// fn panicked, or produce is done: stop it, and wait for it.
		close(done)
		for range full {
		}
	}()
	for b := range full {
		for i := range *b {
			fn(&(*b)[i])
		}
		free <- b
	}
}
