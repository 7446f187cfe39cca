package provider

import (
	"os"
	"regexp"
	"strings"

	"github.com/lambdacontainer/pulumi-lambdacontainer/internal/ecr"
)

// urlUserinfo is the user and password part of a URL (scheme://user:pass@host).
var urlUserinfo = regexp.MustCompile(`(://)[^/@\s:]+:[^/@\s]+@`)

// scrub removes credentials from a message before it is shown or recorded:
// a URL's user and password (a proxy or endpoint URL), and the AWS secret
// key and session token of the provider's environment. Registry tokens are
// scrubbed by the ecr client that minted them.
func scrub(s string) string {
	s = urlUserinfo.ReplaceAllString(s, "${1}****@")
	for _, k := range []string{"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"} {
		if v := os.Getenv(k); len(v) >= 8 {
			s = strings.ReplaceAll(s, v, "****")
		}
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
