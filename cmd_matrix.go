package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gatecrash/gatecrash/run"
	"github.com/gatecrash/gatecrash/scenarios"
)

func cmdMatrix(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flagSet("matrix", "", `Run every fault kind, one at a time, against a gateway and print what the
client got for the requests the fault hit, what the gateway logged (when
gatecrash starts it) and whether it retried. Every cell is measured.`, stdout)
	gateway := fs.String("gateway", scenarios.GatewayBuiltin, "the gateway: builtin, nginx, haproxy or caddy")
	rate := fs.Int("rate", 20, "requests per second of each row")
	duration := fs.Duration("duration", 2*time.Second, "length of each row's run")
	out := fs.StringP("out", "o", "", "keep each row's run folder under this folder (default: a temporary folder, removed)")
	markdown := fs.Bool("markdown", false, "print a Markdown table")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return inputErrf("matrix takes no arguments, got %q; name the gateway with --gateway", fs.Args())
	}
	if !slices.Contains(append([]string{scenarios.GatewayBuiltin}, scenarios.ManagedGateways()...), *gateway) {
		return inputErrf("--gateway %q: give builtin, nginx, haproxy or caddy", *gateway)
	}
	if *rate < 1 || *rate > 1000 || *duration < 500*time.Millisecond || *duration > time.Minute {
		return inputErrf("--rate %d, --duration %s: give a rate from 1 to 1000 and a duration from 500ms to 1m", *rate, *duration)
	}
	dir := *out
	if dir == "" {
		tmp, err := os.MkdirTemp("", "gatecrash-matrix-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	cells, version, err := run.Matrix(ctx, run.MatrixOptions{Gateway: *gateway, Rate: *rate, Duration: *duration, Dir: dir, Log: stderr})
	if err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return &exitError{code: exitBroken, err: errors.New("interrupted")}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "gateway %s (%s); %d/s for %s per row; read timeout 1s\n\n", *gateway, version, *rate, *duration)
	writeMatrix(stdout, cells, *markdown)
	return nil
}

// writeMatrix prints the measured table.
func writeMatrix(w io.Writer, cells []run.MatrixCell, markdown bool) {
	head := []string{"fault", "hit", "the client got", "retried", "the gateway logged"}
	rows := make([][]string, 0, len(cells))
	for _, c := range cells {
		keys := make([]string, 0, len(c.Got))
		for k := range c.Got {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			if c.Got[keys[i]] != c.Got[keys[j]] {
				return c.Got[keys[i]] > c.Got[keys[j]]
			}
			return keys[i] < keys[j]
		})
		var got []string
		for _, k := range keys {
			got = append(got, fmt.Sprintf("%s ×%d", k, c.Got[k]))
		}
		retried := "no"
		if c.Retried > 0 {
			retried = fmt.Sprintf("%d of %d", c.Retried, c.Hit)
		}
		words := c.Words
		if len(words) > 90 {
			words = words[:87] + "..."
		}
		if words == "" {
			words = "-"
		}
		rows = append(rows, []string{c.Row.Name, strconv.Itoa(c.Hit), strings.Join(got, ", "), retried, words})
	}
	if markdown {
		fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(head, " | "), strings.Repeat("---|", len(head)))
		for _, r := range rows {
			for i := range r {
				r[i] = strings.ReplaceAll(r[i], "|", `\|`)
			}
			fmt.Fprintf(w, "| %s |\n", strings.Join(r, " | "))
		}
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}
