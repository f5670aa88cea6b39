package faults

import "testing"

// TestPipe checks that Pipe hands every item over in order, batch after
// batch, whatever the batch size, and that what produce set is set when it
// returns.
func TestPipe(t *testing.T) {
	for _, batch := range []int{1, 7, 256} {
		produced := 0
		var got []int
		Pipe(batch, 3, func(free <-chan *[]int, full chan<- *[]int, done <-chan struct{}) {
			b := <-free
			*b = (*b)[:0]
			for i := range 1000 {
				*b = append(*b, i)
				if len(*b) == batch {
					full <- b
					b = <-free
					*b = (*b)[:0]
				}
			}
			full <- b
			produced = 1000
		}, func(v *int) { got = append(got, *v) })
		if produced != 1000 || len(got) != 1000 {
			t.Fatalf("batch %d: produced %d, got %d items", batch, produced, len(got))
		}
		for i, v := range got {
			if v != i {
				t.Fatalf("batch %d: item %d is %d", batch, i, v)
			}
		}
	}
}
