package lab_test

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/lab"
)

// BenchmarkGatewayTimed prints what timing each request for the built-in
// gateway's wait_ms costs: round trips on loopback through the gateway
// without a log (untimed) and with one (each request timed through an
// httptrace.ClientTrace). Run it with
//
//	go test -run XXX -bench GatewayTimed -benchmem ./lab
func BenchmarkGatewayTimed(b *testing.B) {
	up, err := lab.Start(lab.Upstream{BodyBytes: 100})
	if err != nil {
		b.Fatal(err)
	}
	defer up.Close()
	for _, bc := range []struct {
		name string
		log  io.Writer
	}{{"untimed", nil}, {"timed", io.Discard}} {
		b.Run(bc.name, func(b *testing.B) {
			gw, err := lab.NewGateway("http://"+up.Addr(), 5*time.Second, bc.log)
			if err != nil {
				b.Fatal(err)
			}
			srv, err := lab.Start(gw)
			if err != nil {
				b.Fatal(err)
			}
			defer srv.Close()
			tr := &http.Transport{MaxIdleConnsPerHost: 1}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				resp, err := client.Get(srv.URL() + "/")
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}
