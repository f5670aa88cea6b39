package results

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// Testimony is one entry of a gateway's own logs, normalised: an access
// log line (one per request the gateway answered), or an error log line
// tied to a request.
type Testimony struct {
	// Gateway is the gateway kind that wrote the log: nginx, haproxy,
	// caddy.
	Gateway string `json:"gateway"`
	// Time is when the gateway logged it.
	Time time.Time `json:"time"`
	// Attack and Seq identify the request (its X-Vegeta-Attack and
	// X-Vegeta-Seq headers); Seq is nil when the line could not be tied
	// to a request.
	Attack string  `json:"attack"`
	Seq    *uint64 `json:"seq"`
	// Try is the client's try number of the request (its X-Gatecrash-Try
	// header, from 1), where the gateway's log holds it; 0 when the request
	// carried none, the log does not say, or the line is not a request's.
	// Two lines of one (attack, seq) with different tries are the client's
	// retries; the gateway's own retries are in Upstream and Retries.
	Try int `json:"try,omitempty"`
	// Status is the status the gateway answered with; 0 when the line does
	// not say (an error log line), or the gateway answered none.
	Status int `json:"status,omitempty"`
	// Upstream lists the upstream's status for each try, as the gateway
	// logged it (nginx's $upstream_status "502, 200"; "-" or "" for a try
	// without an answer); more than one try means the gateway retried.
	Upstream []string `json:"upstream,omitempty"`
	// Retries is how many times the gateway retried the request upstream
	// (HAProxy's %rc; len(Upstream)-1 for nginx).
	Retries int `json:"retries,omitempty"`
	// Words is the gateway's own words about what went wrong: an error log
	// message ("upstream prematurely closed connection while reading
	// response header from upstream"), HAProxy's termination state
	// ("SH--"), Caddy's error; empty when all went well.
	Words string `json:"words,omitempty"`
	// WaitMS is how long, in milliseconds, the gateway held the request
	// before the upstream attempt that answered began: waiting in its own
	// queue, connecting, and any failed attempts before it. HAProxy's
	// %Tw + %Tc (Tc counts its connect retries); nginx's $request_time
	// less the last try's $upstream_response_time, plus its
	// $upstream_connect_time when logged; Caddy's only from its debug
	// logs; the built-in gateway's time to its last attempt's connection.
	// nil when the log does not say, or no attempt connected.
	WaitMS *float64 `json:"wait_ms,omitempty"`
}

// WriteTestimony writes testimony as JSON lines.
func WriteTestimony(w io.Writer, ts []Testimony) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for i := range ts {
		if err := enc.Encode(&ts[i]); err != nil {
			return fmt.Errorf("write testimony: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write testimony: %w", err)
	}
	return nil
}

// ReadTestimony reads JSON lines written by WriteTestimony. A last line cut
// short is ignored, as a file cut short by a crash would be.
func ReadTestimony(r io.Reader) ([]Testimony, error) {
	var out []Testimony
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	line := 0
	var pending error
	for sc.Scan() {
		line++
		if pending != nil {
			return nil, pending
		}
		if len(sc.Bytes()) == 0 {
			continue
		}
		var t Testimony
		if err := json.Unmarshal(sc.Bytes(), &t); err != nil {
			// Only the last line may be cut short.
			pending = fmt.Errorf("line %d: %w", line, err)
			continue
		}
		out = append(out, t)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", line+1, err)
	}
	return out, nil
}
