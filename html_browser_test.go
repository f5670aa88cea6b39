package main

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatecrash/gatecrash/internal/htmltest"
	"github.com/gatecrash/gatecrash/results"
	"github.com/gatecrash/gatecrash/results/report"
)

// chromiumPackage is the Debian package .ci/run installs for this test.
const chromiumPackage = "chromium"

// chromium returns the path of headless Chromium; without it the test
// fails, naming the package (nothing is skipped silently).
func chromium(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	t.Fatalf("chromium is not installed: install Debian's %s package (apt-get install -y %s; .ci/run does)", chromiumPackage, chromiumPackage)
	return ""
}

// browse opens a file in headless Chromium with extra (--dump-dom or
// --screenshot=FILE) and returns its standard output and the console
// messages it logged (every one is an error: the report has no script).
func browse(t *testing.T, bin, file string, extra ...string) (stdout string, console []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0",
		"--hide-scrollbars", "--window-size=1280,2000",
	}
	args = append(append(args, extra...), "file://"+file)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.WaitDelay = 5 * time.Second
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(extra, " "), err, errb.String())
	}
	for _, line := range strings.Split(errb.String(), "\n") {
		if strings.Contains(line, ":CONSOLE") {
			console = append(console, line)
		}
	}
	return out.String(), console
}

// screenshotDir keeps the screenshots after the test, for a person to
// look at; it is ignored by git.
var screenshotDir = filepath.Join("testdata", "out")

// TestHTMLInBrowser renders the HTML report of the recorded
// upstream-resets run, and the same with markup in every name a target or
// the scenario gives, opens each in headless Chromium, and checks that it
// loads without a console message (a blocked load, a script, a CSP
// violation), that the three charts are in the DOM with their series and
// no script got in, and that the screenshot shows the charts' colours. It
// logs where the screenshots are.
func TestHTMLInBrowser(t *testing.T) {
	bin := chromium(t)
	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		t.Fatal(err)
	}
	dir, err := filepath.Abs(screenshotDir)
	if err != nil {
		t.Fatal(err)
	}

	// The console check must be able to fail: a page that breaks the
	// report's own CSP logs a message.
	t.Run("console-check-catches-errors", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad.html")
		page := `<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="default-src 'none'"></head>` +
			`<body><img src="http://127.0.0.1:1/x.png"></body></html>`
		if err := os.WriteFile(bad, []byte(page), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, console := browse(t, bin, bad, "--dump-dom"); len(console) == 0 {
			t.Errorf("a page whose image the CSP blocks logged nothing: the console check cannot fail")
		}
	})

	const evil = "<script>alert(1)</script>"
	for _, tt := range []struct {
		name string
		edit func(r *results.Report)
	}{
		{"upstream-resets", func(*results.Report) {}},
		{"escaped", func(r *results.Report) {
			r.Phases[1].Name = evil
			for i := range r.Timeline {
				if r.Timeline[i].Phase == "resets" {
					r.Timeline[i].Phase = evil
				}
			}
			r.Scenario += evil
			r.Gateway.Evidence = `<img src=x onerror="alert(2)">`
			r.Causes[0].GatewayWords = []results.Words{{Words: evil + "</td></table>", Count: 4}}
			r.Diagnosis += " " + evil
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rep := goldenReport(t)
			tt.edit(rep)
			file := filepath.Join(dir, "report-"+tt.name+".html")
			var b bytes.Buffer
			if err := report.HTML(&b, rep); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}

			dom, console := browse(t, bin, file, "--dump-dom")
			for _, c := range console {
				t.Errorf("console: %s", c)
			}
			checkDOM(t, dom, tt.name == "escaped")

			shot := filepath.Join(dir, "report-"+tt.name+".png")
			os.Remove(shot)
			_, console = browse(t, bin, file, "--screenshot="+shot)
			for _, c := range console {
				t.Errorf("console: %s", c)
			}
			checkScreenshot(t, shot)
			t.Logf("screenshot: %s (the page: %s, %d bytes)", shot, file, b.Len())
		})
	}
}

// checkDOM checks the page as Chromium built it: three charts, each an
// SVG with paths and the names of its series, and no script.
func checkDOM(t *testing.T, dom string, escaped bool) {
	t.Helper()
	svgs := regexp.MustCompile(`(?s)<svg[^>]*class="chart".*?</svg>`).FindAllString(dom, -1)
	if len(svgs) != 3 {
		t.Fatalf("the DOM has %d charts, want 3:\n%.2000s", len(svgs), dom)
	}
	for i, want := range [][]string{
		{">offered<", ">2xx<", ">502<", ">requests/s<"},
		{">p50<", ">p99<", ">latency ms<"},
		{">reset (r 0.81)<", ">502s/s<"},
	} {
		if n := strings.Count(svgs[i], "<path"); n < 10 {
			t.Errorf("chart %d has %d paths, want at least 10", i+1, n)
		}
		for _, w := range want {
			if !strings.Contains(svgs[i], w) {
				t.Errorf("chart %d does not show %q", i+1, w)
			}
		}
	}
	// No element or event handler got in from a name.
	htmltest.Inert(t, dom)
	if escaped {
		// The names show as text: in the phases table and on the chart.
		for _, want := range []string{"<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>", ">&lt;script&gt;alert(1)&lt;/script&gt;</text>"} {
			if !strings.Contains(dom, want) {
				t.Errorf("the DOM does not show the phase name as text: no %q", want)
			}
		}
	}
}

// checkScreenshot checks that the screenshot is the size asked for and
// shows the charts' series: the 2xx green, the 502 red, the p50 blue.
func checkScreenshot(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1280 || b.Dy() != 2000 {
		t.Errorf("screenshot: %dx%d, want 1280x2000", b.Dx(), b.Dy())
	}
	for _, c := range []struct {
		name string
		rgb  color.RGBA
	}{
		{"2xx green", color.RGBA{44, 160, 44, 255}},
		{"502 red", color.RGBA{214, 39, 40, 255}},
		{"p50 blue", color.RGBA{31, 119, 180, 255}},
	} {
		if n := countColour(img, c.rgb, 40); n < 300 {
			t.Errorf("the screenshot has %d pixels of the %s, want at least 300: are the charts drawn?", n, c.name)
		}
	}
}

// countColour counts the pixels within tol (per channel) of c.
func countColour(img image.Image, c color.RGBA, tol int) int {
	n := 0
	b := img.Bounds()
	near := func(a uint32, b uint8) bool {
		d := int(a>>8) - int(b)
		return d >= -tol && d <= tol
	}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if near(r, c.R) && near(g, c.G) && near(bl, c.B) {
				n++
			}
		}
	}
	return n
}
