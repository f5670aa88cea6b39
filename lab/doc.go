// Package lab holds the things under test that gatecrash can start by
// itself, on loopback: the embedded default target (the built-in stub
// upstream, Upstream, the built-in LLM upstream, LLM, which streams
// tokens in the OpenAI and Anthropic wire formats, and the built-in
// gateway, Gateway, served by Start), and managed real gateways (nginx, HAProxy, Caddy) rendered from
// its embedded templates or the user's own (Render, RenderDefault), then
// started, probed until they answer and stopped with their process group
// (StartManaged, Managed.Close); and it reads what those gateways logged
// into their testimony (ReadTestimony, one file per gateway's log
// format). It must not inject faults (that is package faults), nor
// analyse a run or attribute a 502 to a cause (package results): it
// starts the gateways and reports their own words, nothing more.
package lab
