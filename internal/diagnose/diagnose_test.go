package diagnose

import (
	"os"
	"strings"
	"testing"
)

// Every entry explains its own example (and is the first to match it).
func TestEveryEntryExplainsItsExample(t *testing.T) {
	for _, e := range Catalogue() {
		d, ok := Explain(e.Example, Facts{Architecture: "x86_64", MemoryMB: 512})
		if !ok || d.Code != e.Code || d.Cause == "" || d.Fix == "" {
			t.Errorf("%s: its example %q gives %+v", e.Code, e.Example, d)
		}
	}
}

func TestSeedCases(t *testing.T) {
	for _, c := range []struct {
		message string
		facts   Facts
		code    string
		want    []string
	}{
		{"[ERROR] Runtime.ImportModuleError: Unable to import module 'app': No module named 'yaml'", Facts{}, "missing-module",
			[]string{"add `PyYAML` to requirements.txt"}},
		{"Unable to import module 'app.main': No module named 'cv2'", Facts{}, "missing-module", []string{"`opencv-python`"}},
		{"Unable to import module 'app.main': No module named 'jwt.algorithms'", Facts{}, "missing-module", []string{"`PyJWT`"}},
		{"Unable to import module 'app.main': No module named 'app.settings'", Facts{}, "handler-module-missing", []string{"COPY all of app/"}},
		{"Unable to import module 'main': No module named 'main'", Facts{}, "handler-module-missing", []string{"CMD"}},
		{"Runtime.HandlerNotFound: Handler 'handler' missing on module 'app'", Facts{}, "handler-not-found", []string{"Mangum(app)"}},
		{"fork/exec /lambda-entrypoint.sh: exec format error", Facts{Architecture: "arm64"}, "wrong-architecture", []string{"linux/arm64"}},
		{"Task timed out after 3.00 seconds", Facts{InitDurationMs: 2500}, "timeout", []string{"2500 ms", "raise the timeout"}},
		{"Task timed out after 30.00 seconds", Facts{InitDurationMs: 300}, "timeout", []string{"30.00 s timeout", "network call"}},
		{"Runtime exited with error: signal: killed", Facts{MemoryMB: 128}, "out-of-memory", []string{"128 MB", "512 MB"}},
		{"the response status is 500, not the expected 200; body: Internal Server Error", Facts{LogErrors: []string{"[ERROR] ZeroDivisionError: division by zero"}},
			"http-500", []string{"ZeroDivisionError"}},
		{"ImageDeleted: Source image x does not exist. Provide a valid source image.", Facts{}, "image-deleted", []string{"lifecycle"}},
	} {
		d, ok := Explain(c.message, c.facts)
		if !ok || d.Code != c.code {
			t.Errorf("%q: got %+v, want %s", c.message, d, c.code)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(d.String(), w) {
				t.Errorf("%q: %q lacks %q", c.message, d, w)
			}
		}
	}
	if d, ok := Explain("everything is fine", Facts{}); ok {
		t.Errorf("an unknown message was explained: %+v", d)
	}
}

// The troubleshooting guide in docs/ is generated from the catalogue.
func TestTroubleshootingDocIsFresh(t *testing.T) {
	got, err := os.ReadFile("../../docs/troubleshooting.md")
	if err != nil || string(got) != Markdown() {
		t.Fatalf("docs/troubleshooting.md is stale: run `go run ./internal/diagnose/gendocs` (%v)", err)
	}
}
