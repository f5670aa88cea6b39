package attack_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/gatecrash/gatecrash/attack"
	"github.com/gatecrash/gatecrash/scenarios"
)

// TestStarted checks that Options.Started gets the attack's start, the
// one Run returns, before the first result: the run sets the fault
// proxy's phases by it.
func TestStarted(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer ts.Close()
	phases := []scenarios.Phase{{Name: "p", Duration: scenarios.Duration(100 * time.Millisecond), Rate: scenarios.Rate{Freq: 50, Per: time.Second}}}
	var got []time.Time
	results := 0
	start, err := attack.Run(context.Background(), attack.NewPacer(phases), attack.Options{
		Name: "started", BaseURL: ts.URL, Requests: []scenarios.Request{{Method: http.MethodGet, Path: "/"}},
		Started: func(t time.Time) { got = append(got, t) },
	}, func(*vegeta.Result) error {
		if len(got) != 1 {
			t.Errorf("a result before Started was called once (%d calls)", len(got))
		}
		results++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !got[0].Equal(start) || results == 0 {
		t.Errorf("Started got %v, Run returned %v, %d results; want one call with Run's start", got, start, results)
	}
}
