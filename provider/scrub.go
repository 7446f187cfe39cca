package provider

import (
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/lambdacontainer/pulumi-lambdacontainer/internal/ecr"
)

// urlUserinfo is the user and password part of a URL (scheme://user:pass@host).
var urlUserinfo = regexp.MustCompile(`(://)[^/@\s:]+:[^/@\s]+@`)

// resolved holds the secret keys and session tokens of the AWS credentials
// the provider resolved (from the environment, a profile, SSO or a role),
// for scrub.
var resolved struct {
	mu      sync.Mutex
	secrets map[string]bool
}

// remember adds credentials to what scrub removes.
func remember(secrets ...string) {
	resolved.mu.Lock()
	defer resolved.mu.Unlock()
	if resolved.secrets == nil {
		resolved.secrets = map[string]bool{}
	}
	for _, v := range secrets {
		if len(v) >= 8 { // shorter ones would mangle messages, and are no real credentials
			resolved.secrets[v] = true
		}
	}
}

// scrub removes credentials from a message before it is shown or recorded:
// a URL's user and password (a proxy or endpoint URL), and the AWS secret
// key and session token of the provider's environment and of every
// credential it resolved. Registry tokens are scrubbed by the ecr client
// that minted them.
func scrub(s string) string {
	s = urlUserinfo.ReplaceAllString(s, "${1}****@")
	for _, k := range []string{"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"} {
		remember(os.Getenv(k))
	}
	resolved.mu.Lock()
	secrets := slices.SortedFunc(maps.Keys(resolved.secrets), func(a, b string) int { return len(b) - len(a) }) // a longer one first
	resolved.mu.Unlock()
	for _, v := range secrets {
		s = strings.ReplaceAll(s, v, "****")
	}
	return s
}

// scrubbedError is an error whose message had credentials removed; it
// still wraps the original, so callers can tell what it is.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// scrubError returns err with credentials removed from its message.
func scrubError(err error) error {
	if err == nil {
		return nil
	}
	if msg := scrub(err.Error()); msg != err.Error() { // a deployError's message is scrubbed already (failState)
		return &scrubbedError{msg, err}
	}
	return err
}

// clean is s without the registry tokens registry minted or other credentials.
func clean(registry *ecr.Client, s string) string { return scrub(registry.Scrub(s)) }
