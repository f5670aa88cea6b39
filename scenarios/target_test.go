package scenarios

import "testing"

// TestDecodeTargetErrors checks the name, the target, the upstream and
// their addresses.
func TestDecodeTargetErrors(t *testing.T) {
	checkDecodeErrors(t, []decodeErrorTest{
		{"missing name", `requests: [{path: /}]
phases: [{name: a, duration: 1s, rate: 1/s}]
`,
			[]want{{1, "name", "name is required; add a line such as name: my-scenario"}}},
		{"name not a folder name", `name: my scenario/1
requests: [{path: /}]
phases: [{name: a, duration: 1s, rate: 1/s}]
`,
			[]want{{1, "name", "write one such as my-scenario-1"}}},
		{"duration negative", withSection("target: {timeout: -1s}\n"),
			[]want{{2, "target.timeout", "is negative; write a duration of 0s or more"}}},
		{"gateway none without url", withSection("target:\n  gateway: none\n"),
			[]want{{2, "target.url", "gateway: none needs url, the address of the gateway you run; add one such as url: http://127.0.0.1:8080"}}},
		{"url with builtin gateway", withSection("target:\n  url: http://127.0.0.1:8080\n"),
			[]want{{3, "target.url", "url applies only to gateway: none"}}},
		{"non-loopback url", withSection("target:\n  gateway: none\n  url: http://example.com:8080\n"),
			[]want{{4, "target.url", "is not a loopback address; gatecrash sends traffic only to 127.0.0.1, ::1 or localhost"}}},
		{"target url with credentials", withSection("target:\n  gateway: none\n  url: http://user:PASS@127.0.0.1:8080/\n"),
			[]want{{4, "target.url", "the URL holds credentials (user:password@), which would be written into every record of the results; remove them, and send an Authorization header instead, in requests[].headers, such as headers: {Authorization: \"Basic ...\"}: gatecrash keeps it out of every output; write the URL as http://127.0.0.1:8080/"}}},
		{"target url with a user only", withSection("target:\n  gateway: none\n  url: http://admin@localhost:8080\n"),
			[]want{{4, "target.url", "the URL holds credentials (user:password@)"}}},
		{"upstream url with credentials", withSection("upstream:\n  url: http://u:secret@127.0.0.1:9000\n"),
			[]want{{3, "upstream.url", "send an Authorization header instead, in requests[].headers"}}},
		{"credentials before a non-loopback host", withSection("upstream:\n  url: http://u:secret@example.com:9000\n"),
			[]want{{3, "upstream.url", "the URL holds credentials (user:password@), which would be written into every record of the results; remove them, and send an Authorization header instead, in requests[].headers, such as headers: {Authorization: \"Basic ...\"}: gatecrash keeps it out of every output; write the URL as http://example.com:9000"}}},
		{"https url", withSection("upstream:\n  url: https://127.0.0.1:9000\n"),
			[]want{{3, "upstream.url", "must start with http://"}}},
		{"misspelt managed gateway", withSection("target: {gateway: ngnix}\n"),
			[]want{{2, "target.gateway", `unknown gateway "ngnix"; did you mean nginx? use builtin (gatecrash's own), nginx, haproxy or caddy (gatecrash starts the one installed), or none with url`}}},
		{"unknown gateway", withSection("target: {gateway: buitlin}\n"),
			[]want{{2, "target.gateway", "did you mean builtin? use builtin (gatecrash's own), nginx, haproxy or caddy"}}},
		{"gateway envoy is not managed", withSection("target: {gateway: envoy}\n"),
			[]want{{2, "target.gateway", `unknown gateway "envoy"; use builtin (gatecrash's own), nginx, haproxy or caddy (gatecrash starts the one installed), or none with url (a gateway you run)`}}},
		{"url with a managed gateway", withSection("target:\n  gateway: haproxy\n  url: http://127.0.0.1:8080\n"),
			[]want{{4, "target.url", "url applies only to gateway: none; remove it, or set gateway: none to attack a gateway you run yourself (gateway haproxy is started by gatecrash)"}}},
		{"config with the built-in gateway", withSection("target:\n  config: nginx.conf.tmpl\n"),
			[]want{{3, "target.config", "config applies only to gateway: nginx, haproxy or caddy (a template gatecrash renders and starts that gateway with); remove it, or set gateway to the one your template is for (gateway is builtin)"}}},
		{"config with gateway none", withSection("target:\n  gateway: none\n  url: http://127.0.0.1:8080\n  config: nginx.conf.tmpl\n"),
			[]want{{5, "target.config", "config applies only to gateway: nginx, haproxy or caddy"}}},
		{"config empty", withSection("target:\n  gateway: caddy\n  config: \"\"\n"),
			[]want{{4, "target.config", "config is empty; write the path of your template, relative to this file, such as config: nginx.conf.tmpl, or leave config out for gatecrash's own"}}},
		{"config null", withSection("target:\n  gateway: nginx\n  config:\n"),
			[]want{{4, "target.config", "config is empty; write the path of your template"}}},
		{"config with a line break", withSection("target:\n  gateway: nginx\n  config: \"a\\nb.conf\"\n"),
			[]want{{4, "target.config", `config "a\nb.conf" holds a line break or control character`}}},
		{"connect timeout zero", withSection("target:\n  gateway: nginx\n  connect_timeout: 0s\n"),
			[]want{{4, "target.connect_timeout", "connect_timeout must be more than 0; write one such as 1s, or leave it out for 1s"}}},
		{"connect timeout not a duration", withSection("target:\n  gateway: haproxy\n  connect_timeout: 1 second\n"),
			[]want{{4, "target.connect_timeout", `"1 second" is not a duration`}}},
		{"upstream builtin and url", withSection("upstream:\n  builtin: {}\n  url: http://127.0.0.1:9000\n"),
			[]want{{4, "upstream.url", "upstream sets both builtin and url; keep builtin"}}},
		{"body too large", withSection("upstream:\n  builtin:\n    body_bytes: 20000000\n"),
			[]want{{4, "upstream.builtin.body_bytes", "write 0 to 10485760 (10 MiB)"}}},
	})
}
