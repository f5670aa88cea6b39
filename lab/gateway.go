package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	stdlog "log"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Gateway is the built-in gateway: Go's httputil.ReverseProxy in front of
// one upstream. Like nginx, it answers 502 when the upstream round trip
// fails and 504 when the upstream does not send its response headers in
// time. Close releases its idle upstream connections.
type Gateway struct {
	proxy     *httputil.ReverseProxy
	transport *http.Transport

	mu  sync.Mutex
	log io.Writer
}

// NewGateway returns a gateway forwarding to upstream, waiting at most
// timeout for the upstream's response headers. Each error answer is
// logged to log (if not nil) as one line with the request's seq.
func NewGateway(upstream string, timeout time.Duration, log io.Writer) (*Gateway, error) {
	u, err := url.Parse(upstream)
	if err != nil {
		return nil, fmt.Errorf("gateway upstream: %w", err)
	}
	tr := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		ResponseHeaderTimeout: timeout,
		MaxIdleConns:          1000,
		MaxIdleConnsPerHost:   1000,
		IdleConnTimeout:       90 * time.Second,
	}
	g := &Gateway{transport: tr, log: log}
	g.proxy = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(u)
			r.Out.Host = r.In.Host
			if r.Out.Body != nil && r.Out.ContentLength > 0 {
				r.Out.Body = &sizedBody{ReadCloser: r.Out.Body, left: r.Out.ContentLength}
			}
		},
		Transport:    tr,
		ErrorHandler: g.fail,
		// What the proxy has to say besides error answers (a body copy
		// that broke off, for one) goes to the same log.
		ErrorLog: stdlog.New(lineWriter{g}, "", 0),
	}
	return g, nil
}

// ServeHTTP implements http.Handler.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if g.log == nil {
		g.proxy.ServeHTTP(w, r)
		return
	}
	// With a log, the request carries when it came and when its last
	// upstream attempt got its connection, for the log's wait_ms.
	h := &held{start: time.Now()}
	ctx := httptrace.WithClientTrace(r.Context(), &httptrace.ClientTrace{GotConn: h.gotConn})
	g.proxy.ServeHTTP(w, r.WithContext(context.WithValue(ctx, heldKey{}, h)))
}

// held times a request in the gateway: when it came, and when its last
// upstream attempt got a connection (a new one or an idle one; Go's
// Transport tries again on a new connection when a reused one was closed
// before the request went out).
type held struct {
	start time.Time
	got   atomic.Int64 // UnixNano of the last GotConn; 0 for none
}

type heldKey struct{}

func (h *held) gotConn(httptrace.GotConnInfo) { h.got.Store(time.Now().UnixNano()) }

// waitMS says how long the gateway held the request before its last
// attempt had a connection, in milliseconds (three decimals): dialing,
// and any attempt before it; "-" when no attempt got one (the dial
// failed) or the request was not timed.
func waitMS(r *http.Request) string {
	h, _ := r.Context().Value(heldKey{}).(*held)
	if h == nil {
		return "-"
	}
	got := h.got.Load()
	if got == 0 {
		return "-"
	}
	d := time.Unix(0, got).Sub(h.start)
	if d < 0 {
		d = 0
	}
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 3, 64)
}

// Close closes the gateway's idle upstream connections. It implements
// io.Closer, so a Server running the gateway calls it when it stops.
func (g *Gateway) Close() error {
	g.transport.CloseIdleConnections()
	return nil
}

// lineWriter writes the ReverseProxy's own messages into the gateway log,
// one timestamped line each.
type lineWriter struct{ g *Gateway }

func (w lineWriter) Write(b []byte) (int, error) {
	w.g.logLine(builtinProxyPrefix+"%q", strings.TrimSpace(string(b)))
	return len(b), nil
}

// The built-in gateway's log lines, each after its time (RFC 3339, UTC)
// and a space; ReadTestimony reads them back (readBuiltin).
const (
	// builtinFailFormat is a failed round trip: its answer's status, the
	// request's X-Vegeta-Attack and X-Vegeta-Seq, how long the gateway
	// held it before its last attempt had a connection (ms, "-" for
	// none), and the error.
	builtinFailFormat = "status=%d attack=%q seq=%s wait_ms=%s error=%q"
	// builtinFailFormat1 is builtinFailFormat before wait_ms; ReadTestimony
	// still reads it.
	builtinFailFormat1 = "status=%d attack=%q seq=%s error=%q"
	// builtinProxyPrefix begins a message of the ReverseProxy's own, the
	// message quoted after it.
	builtinProxyPrefix = "proxy-error="
)

// logLine writes one line into the gateway log, if there is one: the
// time, then format with args.
func (g *Gateway) logLine(format string, args ...any) {
	if g.log == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	fmt.Fprintf(g.log, "%s "+format+"\n", append([]any{time.Now().UTC().Format(time.RFC3339Nano)}, args...)...)
}

// StatusClientClosed is what the gateway logs when the client gave up
// before the answer, as nginx's 499.
const StatusClientClosed = 499

// fail answers a failed upstream round trip: 504 on a timeout, 502
// otherwise, with an empty body as Go's ReverseProxy does.
func (g *Gateway) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := http.StatusBadGateway
	var ne net.Error
	switch {
	case r.Context().Err() != nil:
		code = StatusClientClosed // nobody is listening for the answer
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		code = http.StatusGatewayTimeout
	}
	g.logLine(builtinFailFormat, code, r.Header.Get("X-Vegeta-Attack"), r.Header.Get("X-Vegeta-Seq"), waitMS(r), err.Error())
	w.WriteHeader(code)
}

// sizedBody is a request body of a known length that ends once that many
// bytes were read, without reading its source again. Go's Transport,
// having sent ContentLength bytes of a request body, reads once more to
// check that nothing is left (net/http transfer.go, writeBody); by then
// the ReverseProxy may have flushed the answer's head (it flushes a
// text/event-stream at once), and Go's server may close the inbound body
// once the answer began ("Write or WriteHeader may prevent future reads
// on the Request.Body", net/http server.go). That read then fails, the
// Transport closes the upstream connection, and the answer's body is cut
// ("ReverseProxy read error during body copy: ... use of closed network
// connection"): about 1% of streamed answers to POSTs under load.
type sizedBody struct {
	io.ReadCloser
	left int64
}

// Read reads at most the bytes left, and io.EOF after them.
func (b *sizedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	if err == nil && b.left <= 0 {
		err = io.EOF
	}
	return n, err
}
