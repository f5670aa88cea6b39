package results

import (
	"bytes"
	"net/http"
	"strings"

	"github.com/gatecrash/gatecrash/results/causes"
	"github.com/gatecrash/gatecrash/scenarios"
)

// Gateway kinds a signature names beyond those gatecrash can start
// (scenarios.GatewayNginx, scenarios.GatewayHAProxy and scenarios.GatewayCaddy).
const (
	GatewayEnvoy   = "envoy"
	GatewayTraefik = "traefik"
	GatewayGo      = "go" // Go's net/http/httputil.ReverseProxy default error handler (empty body, no Server header) — also the built-in gateway
)

// Signature is what a gateway's own error answer gives away.
type Signature struct {
	Gateway  string // one of the kinds above, "" when no gateway is recognised
	Cause    string // a stable cause name the answer itself names, "" when it names none
	Evidence string // a short plain-words reason, e.g. "nginx error page footer <center>nginx</center>"
}

// Sign tells which gateway wrote an error answer, and what cause the answer
// itself names, from the answer alone: its status code, its headers (nil is
// taken as none) and its body, of which the first MaxBody bytes are enough.
// It recognises only a gateway's own default answers: an upstream's error
// passed through a gateway, or a gateway's custom error page, gives the zero
// Signature. Answers below 400 always do.
//
// Sign does not allocate and is safe for concurrent use.
//
// The rules, first match wins:
//   - nginx: the body has nginx's error page footer "<hr><center>nginx" (also
//     nginx/VERSION, and OpenResty's "<hr><center>openresty").
//   - HAProxy: the body starts "<html><body><h1>" and has one of HAProxy's
//     built-in messages: 502 "The server returned an invalid or incomplete
//     response." (malformed-response), 503 "No server is available to handle
//     this request.", 504 "The server didn't respond in time.", 500 "An
//     internal server error occurred.", 429 "You have sent too many requests".
//   - Envoy: the body starts "upstream connect error or disconnect/reset before
//     headers." and names a reset reason; or the body is exactly "upstream
//     request timeout" or "no healthy upstream".
//   - Traefik: no Server header and the body is exactly the status text
//     (Traefik's proxy error handler writes "Bad Gateway", "Gateway Timeout"),
//     or "no available server\n" (its load balancer with every server down).
//   - Caddy: an empty 5xx body with Server: Caddy.
//   - Go: an empty 502 or 504 body with neither a Server nor a Content-Type
//     header, as httputil.ReverseProxy's error handler and lab.Gateway write;
//     but some headers (Date, Content-Length) must be there: a result
//     recorded without any headers tells nothing.
//
// Whatever the rule, a 504 names upstream-timeout and a 429 names
// overload-rejected when the rule named no cause.
func Sign(code uint16, h http.Header, body []byte) Signature {
	if code < 400 {
		return Signature{}
	}
	var s Signature
	if len(body) == 0 {
		s = signEmpty(code, h)
	} else {
		s = signBody(code, h, body)
	}
	if s.Gateway != "" && s.Cause == "" {
		switch code {
		case http.StatusGatewayTimeout:
			s.Cause = causes.UpstreamTimeout
		case http.StatusTooManyRequests:
			s.Cause = causes.OverloadRejected
		}
	}
	return s
}

// signEmpty recognises gateways whose error answers have no body: only their
// headers can tell them apart from an upstream's own empty answer.
func signEmpty(code uint16, h http.Header) Signature {
	if code < 500 {
		return Signature{}
	}
	server := header(h, "Server")
	switch {
	case strings.EqualFold(server, "Caddy"):
		return Signature{Gateway: scenarios.GatewayCaddy, Evidence: "empty body with Server: Caddy"}
	case len(h) > 0 && server == "" && header(h, "Content-Type") == "" &&
		(code == http.StatusBadGateway || code == http.StatusGatewayTimeout):
		return Signature{Gateway: GatewayGo, Evidence: "empty body, no Server header (Go's httputil.ReverseProxy)"}
	}
	return Signature{}
}

func signBody(code uint16, h http.Header, body []byte) Signature {
	switch body[0] {
	case '<':
		if s, ok := signNginx(body); ok {
			return s
		}
		return signHAProxy(body)
	case 'u', 'n':
		if s, ok := signEnvoy(body); ok {
			return s
		}
	}
	return signTraefik(code, h, body)
}

var (
	nginxFooter     = []byte("<hr><center>nginx")
	openrestyFooter = []byte("<hr><center>openresty")
)

func signNginx(body []byte) (Signature, bool) {
	if bytes.Contains(body, nginxFooter) {
		return Signature{Gateway: scenarios.GatewayNginx, Evidence: "nginx error page footer <center>nginx</center>"}, true
	}
	if bytes.Contains(body, openrestyFooter) {
		return Signature{Gateway: scenarios.GatewayNginx, Evidence: "nginx error page footer <center>openresty</center>"}, true
	}
	return Signature{}, false
}

// haproxyPages are HAProxy's built-in error messages (src/http.c
// http_err_msgs), each with the cause it names.
var (
	haproxyHead  = []byte("<html><body><h1>")
	haproxyPages = [...]struct {
		msg      []byte
		cause    string
		evidence string
	}{
		{[]byte("\nThe server returned an invalid or incomplete response."), causes.MalformedResponse,
			`HAProxy error page "The server returned an invalid or incomplete response."`},
		{[]byte("\nNo server is available to handle this request."), "",
			`HAProxy error page "No server is available to handle this request."`},
		{[]byte("\nThe server didn't respond in time."), causes.UpstreamTimeout,
			`HAProxy error page "The server didn't respond in time."`},
		{[]byte("\nAn internal server error occurred."), "",
			`HAProxy error page "An internal server error occurred."`},
		{[]byte("\nYou have sent too many requests in a given amount of time."), causes.OverloadRejected,
			`HAProxy error page "You have sent too many requests in a given amount of time."`},
	}
)

func signHAProxy(body []byte) Signature {
	if !bytes.HasPrefix(body, haproxyHead) {
		return Signature{}
	}
	for _, p := range haproxyPages {
		if bytes.Contains(body, p.msg) {
			return Signature{Gateway: scenarios.GatewayHAProxy, Cause: p.cause, Evidence: p.evidence}
		}
	}
	return Signature{}
}

// Envoy's router local replies (source/common/router/router.cc) and its
// reset reasons (Http::Utility::resetReasonToString).
var (
	envoyReset       = []byte("upstream connect error or disconnect/reset before headers. ")
	envoyReason      = []byte("reset reason: ")
	envoyTimeout     = []byte("upstream request timeout")
	envoyNoHealthy   = []byte("no healthy upstream")
	envoyResetCauses = [...]struct {
		reason []byte
		cause  string
	}{
		// Older Envoy says "connection failure"; newer says local or remote.
		{[]byte("connection failure"), causes.ConnectionRefused},
		{[]byte("local connection failure"), causes.ConnectionRefused},
		{[]byte("remote connection failure"), causes.ConnectionRefused},
		{[]byte("connection timeout"), causes.UpstreamTimeout},
		{[]byte("connection termination"), causes.ClosedBeforeHeaders},
		{[]byte("remote reset"), causes.ResetBeforeHeaders},
		{[]byte("remote refused stream reset"), causes.ResetBeforeHeaders},
		{[]byte("overflow"), causes.OverloadRejected},
		{[]byte("overload manager reset"), causes.OverloadRejected},
		{[]byte("protocol error"), causes.MalformedResponse},
	}
)

func signEnvoy(body []byte) (Signature, bool) {
	switch {
	case bytes.HasPrefix(body, envoyReset):
		s := Signature{Gateway: GatewayEnvoy, Evidence: `Envoy local reply "upstream connect error or disconnect/reset before headers"`}
		rest := body[len(envoyReset):]
		i := bytes.Index(rest, envoyReason)
		if i < 0 {
			return s, true
		}
		rest = rest[i+len(envoyReason):]
		// The reason runs to ", transport failure reason: ..." or the end.
		if j := bytes.IndexByte(rest, ','); j >= 0 {
			rest = rest[:j]
		}
		rest = bytes.TrimSpace(rest)
		for _, r := range envoyResetCauses {
			if bytes.Equal(rest, r.reason) {
				s.Cause = r.cause
				break
			}
		}
		return s, true
	case bytes.Equal(bytes.TrimSpace(body), envoyTimeout):
		return Signature{Gateway: GatewayEnvoy, Cause: causes.UpstreamTimeout, Evidence: `Envoy local reply "upstream request timeout"`}, true
	case bytes.Equal(bytes.TrimSpace(body), envoyNoHealthy):
		return Signature{Gateway: GatewayEnvoy, Evidence: `Envoy local reply "no healthy upstream"`}, true
	}
	return Signature{}, false
}

// Traefik's proxy error handler (pkg/proxy/httputil/proxy.go) writes the bare
// status text; its load balancer answers http.Error "no available server".
var traefikNoServer = []byte("no available server\n")

func signTraefik(code uint16, h http.Header, body []byte) Signature {
	if header(h, "Server") != "" {
		return Signature{}
	}
	switch code {
	case http.StatusBadGateway, http.StatusGatewayTimeout:
		if string(body) == http.StatusText(int(code)) {
			return Signature{Gateway: GatewayTraefik, Evidence: "plain status text body with no Server header (Traefik's proxy error handler)"}
		}
	case http.StatusServiceUnavailable:
		if bytes.Equal(body, traefikNoServer) {
			return Signature{Gateway: GatewayTraefik, Evidence: `Traefik load balancer "no available server"`}
		}
	}
	return Signature{}
}

// header returns h's first value for the canonical key k, "" for none.
func header(h http.Header, k string) string {
	if v := h[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}
