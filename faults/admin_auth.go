package faults

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Bounds of an admin token.
const (
	MinTokenLen = 16   // shorter is guessable
	maxTokenLen = 4096 // longer does not fit a header
)

// TokenEnv is the environment variable that gives the admin API's token
// when the command line does not (--admin-token).
const TokenEnv = "GATECRASH_ADMIN_TOKEN"

// CheckToken says what is wrong with token as a bearer token of the admin
// API, or returns nil. The error never holds the token.
func CheckToken(token string) error {
	const how = "such as the output of openssl rand -hex 16"
	switch {
	case token == "":
		return fmt.Errorf("the token is empty; give one of at least %d characters, %s", MinTokenLen, how)
	case len(token) < MinTokenLen:
		return fmt.Errorf("the token has %d characters, fewer than %d, and could be guessed; give a longer one, %s", len(token), MinTokenLen, how)
	case len(token) > maxTokenLen:
		return fmt.Errorf("the token has %d characters, more than %d; give a shorter one, %s", len(token), maxTokenLen, how)
	}
	for i := 0; i < len(token); i++ {
		if b := token[i]; b <= ' ' || b >= 0x7f {
			return fmt.Errorf("the token holds a space, a control character or a non-ASCII byte (at byte %d), which an Authorization header cannot carry; give one of printable ASCII, %s", i+1, how)
		}
	}
	return nil
}

// tokenOK is the context key under which RequireToken marks a request
// that carried the token.
type tokenOK struct{}

// authenticated reports whether r carried the admin token.
func authenticated(ctx context.Context) bool {
	ok, _ := ctx.Value(tokenOK{}).(bool)
	return ok
}

// RequireToken returns h behind a bearer token: a request reaches h only
// with the header Authorization: Bearer TOKEN; any other gets 401 with
// WWW-Authenticate: Bearer and a JSON body {"error": "..."} saying how to
// send it. The comparison takes the same time whatever the token sent
// (both sides are hashed, then compared with crypto/subtle), and no answer
// holds the token. The token must pass [CheckToken]; RequireToken panics
// otherwise, as it is the caller's to check.
//
// An [Admin] behind RequireToken takes a request that carried the token
// whatever its Host header names (a gateway in a container reaches it by
// a name of that network): the token, which no web page can send to
// another origin without a CORS preflight, proves the client.
func RequireToken(h http.Handler, token string) http.Handler {
	if err := CheckToken(token); err != nil {
		panic("faults.RequireToken: " + err.Error())
	}
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if msg := tokenProblem(r, want); msg != "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="gatecrash proxy admin"`)
			jsonError(w, http.StatusUnauthorized, msg)
			return
		}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), tokenOK{}, true)))
	})
}

// tokenProblem says why r does not carry the token whose SHA-256 is want,
// or returns "" when it does.
func tokenProblem(r *http.Request, want [sha256.Size]byte) string {
	const how = "send the header Authorization: Bearer TOKEN, with the token gatecrash proxy was given (--admin-token or " + TokenEnv + ")"
	values := r.Header.Values("Authorization")
	switch {
	case len(values) == 0:
		return "the admin API needs a bearer token: " + how
	case len(values) > 1:
		return "the request holds several Authorization headers; " + how + ", once"
	}
	scheme, given, ok := strings.Cut(strings.TrimSpace(values[0]), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "the Authorization header is not a bearer token; " + how
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(given)))
	if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
		return "the bearer token is not the admin API's; " + how
	}
	return ""
}

// jsonError answers code with {"error": msg}.
func jsonError(w http.ResponseWriter, code int, msg string) {
	b, err := json.Marshal(struct {
		Error string `json:"error"`
	}{msg})
	if err != nil {
		textError(w, code, msg)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}
