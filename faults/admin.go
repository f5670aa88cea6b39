package faults

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/gatecrash/gatecrash/scenarios"
)

// AdminPhase is the name of the one phase, never ending, in which an Admin
// keeps the proxy's faults; events report it.
const AdminPhase = "proxy"

// maxFaultBody bounds the body of a write to the admin API: one fault,
// a status fault's body included, fits with room to spare.
const maxFaultBody = 64 << 10

// MaxFaults is the most faults an Admin holds at once: a POST beyond it
// is refused (409) until a DELETE removes one.
const MaxFaults = 1000

// Admin is the control API of a proxy that runs alone (gatecrash proxy):
// an http.Handler that lists, adds, replaces and removes the proxy's
// faults while it serves, and streams its events. It keeps every fault in
// one phase named AdminPhase that never ends, and gives each fault a
// stable id, its index in every decision and event, so that removing one
// fault changes no other fault's decisions. It is safe for concurrent use.
//
// The API, JSON in and out (a fault may also be sent as YAML):
//
//	GET    /faults       [{"id": 0, "fault": {...}, "matched": 12, "applied": 3}, ...]
//	POST   /faults       add one fault; 201 with its entry (its id); 400 for a bad fault
//	GET    /faults/{id}  one entry; 404 for an unknown id
//	PUT    /faults/{id}  replace a fault, keeping its id, counters from zero; 200, 400 or 404
//	DELETE /faults/{id}  remove a fault; 204 or 404
//	GET    /events       every event from now on, one JSON line each, until the client leaves
//	GET    /healthz      200 "ok"
//
// Errors are one line of plain text saying what is wrong and how to fix
// it; a method a path does not take gets 405, an unknown path 404.
//
// No web page can drive it, neither cross-origin nor by DNS rebinding:
// every request must name in its Host header the address it arrived on
// (the one in its context under http.LocalAddrContextKey), or localhost,
// 127.0.0.1 or [::1] with that port, and may carry an Origin header only
// when that names the API itself; others get 403. A POST or PUT must say
// Content-Type: application/json (or application/yaml for a YAML fault),
// which no page can send without a CORS preflight, which the API never
// grants; others get 415 (a DELETE needs no type: no page can send one
// cross-origin without a preflight either). A body over 64 KiB gets 413, and
// a POST while MaxFaults faults are held 409.
//
// Beyond loopback, serve it behind [RequireToken]: every request must then
// carry the bearer token, or gets 401.
type Admin struct {
	proxy  *Proxy
	events *EventLog
	mux    *http.ServeMux
	most   int // the most faults held at once: MaxFaults

	mu     sync.Mutex
	next   int          // the id of the next fault added
	faults []adminFault // in id order
}

// adminFault is one fault the Admin holds.
type adminFault struct {
	id   int
	spec json.RawMessage // the fault as JSON, fields named as in YAML
	rule Rule
}

// AdminEntry is one fault as the admin API lists it.
type AdminEntry struct {
	// ID is the fault's index in every decision and event.
	ID int `json:"id"`
	// Fault is the fault's settings, defaults applied, fields named as in
	// a scenario file.
	Fault json.RawMessage `json:"fault"`
	// Matched counts the requests (or connections) the fault matched,
	// Applied the times it was applied.
	Matched uint64 `json:"matched"`
	Applied uint64 `json:"applied"`
}

// NewAdmin returns the control API of p, holding the faults in initial
// with ids 0, 1, ... in order; it replaces p's phases with them at once.
// More than MaxFaults initial faults are an error. Faults added later are
// checked for p's mode. events is where /events streams from, normally
// p's own Config.Events; nil makes /events answer 404.
func NewAdmin(p *Proxy, events *EventLog, initial []scenarios.Fault) (*Admin, error) {
	return newAdmin(p, events, initial, MaxFaults)
}

// newAdmin is NewAdmin holding at most most faults.
func newAdmin(p *Proxy, events *EventLog, initial []scenarios.Fault, most int) (*Admin, error) {
	if len(initial) > most {
		return nil, fmt.Errorf("%d faults, more than the %d the proxy holds at once; remove some", len(initial), most)
	}
	a := &Admin{proxy: p, events: events, mux: http.NewServeMux(), most: most}
	for _, spec := range initial {
		f, err := newAdminFault(a.next, spec)
		if err != nil {
			return nil, err
		}
		a.faults = append(a.faults, f)
		a.next++
	}
	a.apply()
	a.mux.HandleFunc("GET /faults", a.list)
	a.mux.HandleFunc("POST /faults", a.add)
	a.mux.HandleFunc("GET /faults/{id}", a.get)
	a.mux.HandleFunc("PUT /faults/{id}", a.replace)
	a.mux.HandleFunc("DELETE /faults/{id}", a.remove)
	a.mux.HandleFunc("GET /events", a.stream)
	a.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	return a, nil
}

// ServeHTTP serves the admin API, after refusing with 403 a request whose
// Host or Origin is not the API's own.
func (a *Admin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if msg := foreign(r); msg != "" {
		textError(w, http.StatusForbidden, msg)
		return
	}
	a.mux.ServeHTTP(w, r)
}

// foreign says why r does not come from a client of this API on this
// machine, or returns "" when it does. The Host header must name the
// address r arrived on, or localhost, 127.0.0.1 or [::1] with its port:
// a page that had its own name resolve to 127.0.0.1 (DNS rebinding) sends
// its name. A request that carried the token of [RequireToken] may name
// any host: no page can send it. An Origin header, sent by browsers only, must name the API
// itself: a page elsewhere may send a request without asking first.
func foreign(r *http.Request) string {
	local, ok := r.Context().Value(http.LocalAddrContextKey).(*net.TCPAddr)
	if !ok {
		return "the admin API cannot tell the address this request arrived on; serve it with net/http on a TCP listener"
	}
	port := strconv.Itoa(local.Port)
	own := net.JoinHostPort(local.IP.String(), port)
	if !ownHost(r.Host, local.IP, port) && !authenticated(r.Context()) {
		return fmt.Sprintf("Host %s is not this API's address: send Host %s or localhost:%s (a name that resolves here through DNS is refused, against DNS rebinding)", scenarios.Quote(r.Host), own, port)
	}
	for _, o := range r.Header.Values("Origin") {
		// Browsers send an origin as scheme://host[:port], nothing more.
		rest, plain := strings.CutPrefix(strings.ToLower(o), "http://")
		if !plain || !ownHost(rest, local.IP, port) {
			return fmt.Sprintf("a request from the web page at %s is refused: only tools and scripts (curl, an HTTP client), which send no Origin header, or http://%s itself may call the admin API", scenarios.Quote(o), own)
		}
	}
	return ""
}

// ownHost reports whether hostport, a Host header or an origin's host,
// names the API listening on ip and port: by that address, or as
// localhost, 127.0.0.1 or [::1], with the port, or without it when the
// port is 80. Names are compared without regard to case.
func ownHost(hostport string, ip net.IP, port string) bool {
	for _, h := range []string{"localhost", "127.0.0.1", "::1", ip.String()} {
		withPort := net.JoinHostPort(h, port)
		bare := strings.TrimSuffix(withPort, ":"+port) // [::1] keeps its brackets
		if strings.EqualFold(hostport, withPort) || port == "80" && strings.EqualFold(hostport, bare) {
			return true
		}
	}
	return false
}

// writable answers 415 and reports false unless r, a write, says its
// body is JSON or YAML: a web page cannot send either type to another
// origin without a CORS preflight, which the API never grants.
func writable(w http.ResponseWriter, r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err == nil && (mt == "application/json" || mt == "application/yaml") {
		return true
	}
	textError(w, http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type %s: send every POST and PUT with Content-Type: application/json (or application/yaml for a fault written in YAML)", scenarios.Quote(ct)))
	return false
}

// Entries returns the faults held, in id order, with their counters.
func (a *Admin) Entries() []AdminEntry {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]AdminEntry, len(a.faults))
	for i, f := range a.faults {
		out[i] = f.entry()
	}
	return out
}

func newAdminFault(id int, spec scenarios.Fault) (adminFault, error) {
	r, err := NewRule(id, spec)
	if err != nil {
		return adminFault{}, err
	}
	js, err := faultJSON(spec)
	if err != nil {
		return adminFault{}, fmt.Errorf("fault %d: %w", id, err)
	}
	return adminFault{id: id, spec: js, rule: r}, nil
}

func (f adminFault) entry() AdminEntry {
	return AdminEntry{ID: f.id, Fault: f.spec, Matched: f.rule.Matched(), Applied: f.rule.Applied()}
}

// apply gives the proxy the faults held, as its one phase. The caller
// holds a.mu, or is NewAdmin.
func (a *Admin) apply() {
	rules := make([]Rule, len(a.faults))
	for i, f := range a.faults {
		rules[i] = f.rule
	}
	a.proxy.SetPhases([]Phase{{Name: AdminPhase, Rules: rules}})
}

// find returns the position of the fault with the id in the path, or -1.
// The caller holds a.mu.
func (a *Admin) find(r *http.Request) int {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil {
		return -1
	}
	for i, f := range a.faults {
		if f.id == id {
			return i
		}
	}
	return -1
}

func (a *Admin) list(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, a.Entries())
}

func (a *Admin) get(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	i := a.find(r)
	var e AdminEntry
	if i >= 0 {
		e = a.faults[i].entry()
	}
	a.mu.Unlock()
	if i < 0 {
		notFound(w, r)
		return
	}
	writeJSON(w, http.StatusOK, e)
}

func (a *Admin) add(w http.ResponseWriter, r *http.Request) {
	spec, ok := a.decode(w, r)
	if !ok {
		return
	}
	a.mu.Lock()
	full := len(a.faults) >= a.most
	var f adminFault
	var err error
	if !full {
		if f, err = newAdminFault(a.next, spec); err == nil {
			a.next++
			a.faults = append(a.faults, f)
			a.apply()
		}
	}
	a.mu.Unlock()
	if full {
		textError(w, http.StatusConflict, fmt.Sprintf("the proxy holds %d faults, the most it keeps; remove one with DELETE /faults/{id} (GET /faults lists them) before adding another", a.most))
		return
	}
	if err != nil {
		textError(w, http.StatusBadRequest, err.Error())
		return
	}
	w.Header().Set("Location", fmt.Sprintf("/faults/%d", f.id))
	writeJSON(w, http.StatusCreated, f.entry())
}

func (a *Admin) replace(w http.ResponseWriter, r *http.Request) {
	spec, ok := a.decode(w, r)
	if !ok {
		return
	}
	a.mu.Lock()
	i := a.find(r)
	var f adminFault
	var err error
	if i >= 0 {
		if f, err = newAdminFault(a.faults[i].id, spec); err == nil {
			a.faults[i] = f
			a.apply()
		}
	}
	a.mu.Unlock()
	switch {
	case i < 0:
		notFound(w, r)
	case err != nil:
		textError(w, http.StatusBadRequest, err.Error())
	default:
		writeJSON(w, http.StatusOK, f.entry())
	}
}

func (a *Admin) remove(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	i := a.find(r)
	if i >= 0 {
		a.faults = append(a.faults[:i:i], a.faults[i+1:]...)
		a.apply()
	}
	a.mu.Unlock()
	if i < 0 {
		notFound(w, r)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// decode reads one fault from the request body, checked for the proxy's
// mode; on failure it answers 415, 413 or 400 with the problems and
// reports false.
func (a *Admin) decode(w http.ResponseWriter, r *http.Request) (scenarios.Fault, bool) {
	if !writable(w, r) {
		return scenarios.Fault{}, false
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxFaultBody))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			textError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the fault is more than %d bytes; send one fault as a JSON object or YAML mapping", mb.Limit))
			return scenarios.Fault{}, false
		}
		textError(w, http.StatusBadRequest, "read the fault: "+err.Error())
		return scenarios.Fault{}, false
	}
	spec, err := scenarios.DecodeFault("body", data, a.proxy.cfg.Mode)
	if err != nil {
		textError(w, http.StatusBadRequest, err.Error())
		return scenarios.Fault{}, false
	}
	return spec, true
}

// stream sends every event recorded from now on as a JSON line, flushed
// at once, until the client goes away or the server's base context ends.
func (a *Admin) stream(w http.ResponseWriter, r *http.Request) {
	if a.events == nil {
		textError(w, http.StatusNotFound, "this proxy keeps no event log")
		return
	}
	events, unsubscribe := a.events.Subscribe()
	defer unsubscribe()
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if err := rc.Flush(); err != nil {
		return
	}
	enc := json.NewEncoder(w)
	for {
		select {
		case <-r.Context().Done():
			return
		case e, ok := <-events:
			if !ok {
				return
			}
			if enc.Encode(e) != nil || rc.Flush() != nil {
				return
			}
		}
	}
}

func notFound(w http.ResponseWriter, r *http.Request) {
	textError(w, http.StatusNotFound, fmt.Sprintf("no fault with id %q; GET /faults lists them", r.PathValue("id")))
}

// textError answers code with msg as one line of plain text.
func textError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	io.WriteString(w, msg+"\n")
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		textError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

// faultJSON returns spec as a JSON object whose fields are named and
// ordered as in a scenario file, durations written as in YAML ("150ms").
func faultJSON(spec scenarios.Fault) (json.RawMessage, error) {
	y, err := yaml.Marshal(spec)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(y, &doc); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if len(doc.Content) == 1 {
		if err := nodeJSON(&b, doc.Content[0]); err != nil {
			return nil, err
		}
	} else {
		b.WriteString("{}")
	}
	return b.Bytes(), nil
}

// nodeJSON writes the YAML node n as JSON, keeping the order of mappings.
func nodeJSON(b *bytes.Buffer, n *yaml.Node) error {
	switch n.Kind {
	case yaml.MappingNode:
		b.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			if i > 0 {
				b.WriteByte(',')
			}
			k, _ := json.Marshal(n.Content[i].Value)
			b.Write(k)
			b.WriteByte(':')
			if err := nodeJSON(b, n.Content[i+1]); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case yaml.SequenceNode:
		b.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := nodeJSON(b, c); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case yaml.ScalarNode:
		var v any = n.Value
		switch n.ShortTag() {
		case "!!int":
			if i, err := strconv.ParseInt(n.Value, 10, 64); err == nil {
				v = i
			}
		case "!!float":
			if f, err := strconv.ParseFloat(n.Value, 64); err == nil {
				v = f
			}
		case "!!bool":
			v = n.Value == "true"
		case "!!null":
			v = nil
		}
		j, err := json.Marshal(v)
		if err != nil {
			return err
		}
		b.Write(j)
	default:
		return fmt.Errorf("cannot write a YAML %v node as JSON", n.Kind)
	}
	return nil
}
