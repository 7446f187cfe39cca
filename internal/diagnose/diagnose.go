// Package diagnose turns raw failures (Lambda's update reasons, the runtime's
// error payloads, log lines, build errors) into a cause and a fix, from one
// table-driven catalogue that the troubleshooting docs are generated from.
package diagnose

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/lambdacontainer/pulumi-lambdacontainer/internal/pyindex"
)

// Facts are what is known about the deployment when it failed.
type Facts struct {
	Architecture   string // the function's: x86_64 or arm64
	TimeoutSeconds int
	MemoryMB       int
	InitDurationMs float64
	MaxMemoryMB    int      // Max Memory Used
	LogErrors      []string // error lines from the logs
}

// Diagnosis is a failure explained.
type Diagnosis struct {
	Code  string // the catalogue entry, e.g. missing-module
	Cause string
	Fix   string
}

func (d Diagnosis) String() string { return d.Cause + ". Fix: " + d.Fix }

// Entry is one kind of failure the catalogue knows.
type Entry struct {
	Code    string
	Title   string // for the docs
	Match   *regexp.Regexp
	Example string // a real message it explains; the docs show it and a test checks it
	explain func(m []string, f Facts) (cause, fix string)
}

var catalogue = []Entry{
	{
		Code: "handler-module-missing", Title: "The CMD names a module that is not in the image",
		Match:   regexp.MustCompile(`Unable to import module '([^']+)': No module named '([^']+)'`),
		Example: "[ERROR] Runtime.ImportModuleError: Unable to import module 'api': No module named 'api'",
		explain: func(m []string, f Facts) (string, string) {
			switch {
			case !isHandlerModule(m[2], m[1]) && top(m[2]) == top(m[1]):
				return fmt.Sprintf("the handler's module %s imports %s, a module of its own package that is not in the image", m[1], m[2]),
					fmt.Sprintf("COPY all of %s/ into ${LAMBDA_TASK_ROOT} in the Dockerfile, and check that .dockerignore does not exclude %s", top(m[1]), m[2])
			case !isHandlerModule(m[2], m[1]):
				return "", "" // a dependency is missing: the next entry
			}
			return fmt.Sprintf("the handler's module %q is not in the image, so Lambda cannot import it", m[1]),
				fmt.Sprintf("COPY the file that defines %s into ${LAMBDA_TASK_ROOT} in the Dockerfile (and check .dockerignore), "+
					"or change CMD to the module that defines the handler, as in CMD [\"app.main.handler\"]", m[1])
		},
	},
	{
		Code: "missing-module", Title: "A module the code imports is not installed (No module named X)",
		Match:   regexp.MustCompile(`No module named '([^']+)'`),
		Example: "[ERROR] Runtime.ImportModuleError: Unable to import module 'app': No module named 'yaml'",
		explain: func(m []string, f Facts) (string, string) {
			name := top(m[1])
			dist, ok := distribution(m[1])
			cause := fmt.Sprintf("the code imports `%s`, but no installed distribution provides it", m[1])
			if !ok {
				return cause, fmt.Sprintf("add the distribution that provides `%s` (often `%s`) to requirements.txt, "+
					"and make sure the Dockerfile installs requirements into ${LAMBDA_TASK_ROOT}", name, name)
			}
			return cause, fmt.Sprintf("add `%s` to requirements.txt (`%s` is its import name), and make sure the Dockerfile "+
				"installs requirements into ${LAMBDA_TASK_ROOT}", dist, name)
		},
	},
	{
		Code: "import-name-error", Title: "An import finds the module but not the name (version mismatch)",
		Match:   regexp.MustCompile(`cannot import name '([^']+)' from '([^']+)'`),
		Example: "[ERROR] Runtime.ImportModuleError: Unable to import module 'app': cannot import name 'BaseSettings' from 'pydantic'",
		explain: func(m []string, f Facts) (string, string) {
			dist, ok := distribution(m[2])
			if !ok {
				dist = m[2]
			}
			return fmt.Sprintf("`%s` has no name `%s`: the installed version of %s is not the one the code was written for", m[2], m[1], dist),
				fmt.Sprintf("pin %s in requirements.txt to the version you develop with (pip freeze | grep -i %s), or update the import", dist, dist)
		},
	},
	{
		Code: "handler-not-found", Title: "The handler function does not exist in its module",
		Match:   regexp.MustCompile(`Handler '([^']+)' missing on module '([^']+)'`),
		Example: "[ERROR] Runtime.HandlerNotFound: Handler 'handle' missing on module 'app'",
		explain: func(m []string, f Facts) (string, string) {
			return fmt.Sprintf("module %s has no top-level %s, which the CMD names as the handler", m[2], m[1]),
				fmt.Sprintf("define %s at the top level of %s (for FastAPI: handler = Mangum(app)), or fix CMD to name the function that exists", m[1], m[2])
		},
	},
	{
		Code: "wrong-architecture", Title: "The image is built for the other architecture (exec format error)",
		Match:   regexp.MustCompile(`exec format error|Runtime\.InvalidEntrypoint`),
		Example: "RequestId: 1 Error: fork/exec /lambda-entrypoint.sh: exec format error\nRuntime.InvalidEntrypoint",
		explain: func(m []string, f Facts) (string, string) {
			other := "arm64"
			if f.Architecture == "arm64" {
				other = "x86_64"
			}
			return fmt.Sprintf("the image's binaries are not for the function's architecture (%s)", orUnknown(f.Architecture)),
				fmt.Sprintf("build for %s: leave platform unset so it follows the function, or change the function's architectures to %s; "+
					"check that the base image and any binary you COPY exist for that platform", platformOf(f.Architecture), other)
		},
	},
	{
		Code: "verify-timeout", Title: "The verification got no answer in time",
		Match:   regexp.MustCompile(`did not answer within (\S+) \(verify\.timeoutSeconds\)`),
		Example: "the invocation did not answer within 5s (verify.timeoutSeconds)",
		explain: func(m []string, f Facts) (string, string) {
			return fmt.Sprintf("the new version did not answer the verification request within %s", m[1]),
				"raise verify.timeoutSeconds to cover the cold start (the image is pulled and the code imported on the first request), " +
					"or find what the handler waits on; the function's own timeout applies too"
		},
	},
	{
		Code: "timeout", Title: "The invocation timed out",
		Match:   regexp.MustCompile(`Task timed out after ([0-9.]+) seconds`),
		Example: "2026-12-04T10:00:03.000Z 1 Task timed out after 3.00 seconds",
		explain: func(m []string, f Facts) (string, string) {
			secs, _ := strconv.ParseFloat(m[1], 64)
			if f.InitDurationMs > 0 && f.InitDurationMs >= secs*1000/2 {
				return fmt.Sprintf("the function timed out after %s s, and its cold start alone took %.0f ms", m[1], f.InitDurationMs),
					"the import-time work is most of it: raise the timeout (functionSettings.timeoutSeconds, or the function's Timeout), " +
						"and move slow imports and client setup out of module level or slim the dependencies"
			}
			return fmt.Sprintf("the function ran longer than its %s s timeout", m[1]),
				"raise the function's timeout (functionSettings.timeoutSeconds, or the function's Timeout), or find what blocks: " +
					"a network call without a timeout, a VPC without a NAT, or a deadlock"
		},
	},
	{
		Code: "out-of-memory", Title: "The function ran out of memory",
		Match:   regexp.MustCompile(`Runtime exited with error: signal: killed|Runtime\.OutOfMemory|MemoryError`),
		Example: "RequestId: 1 Error: Runtime exited with error: signal: killed\nRuntime.ExitError",
		explain: func(m []string, f Facts) (string, string) {
			size := "its memory size"
			if f.MemoryMB > 0 {
				size = fmt.Sprintf("its %d MB", f.MemoryMB)
			}
			return "the function used all of " + size + " and was killed",
				fmt.Sprintf("raise the memory size (functionSettings.memoryMb, or the function's MemorySize), to %d MB for a start, "+
					"or load less at import time", max(2*f.MemoryMB, 512))
		},
	},
	{
		Code: "env-missing", Title: "An environment variable read at import time is not set",
		Match:   regexp.MustCompile(`KeyError: '([A-Z_][A-Z0-9_]*)'`),
		Example: "[ERROR] KeyError: 'DATABASE_URL'",
		explain: func(m []string, f Facts) (string, string) {
			return fmt.Sprintf("the code reads the environment variable %s, which the function does not set", m[1]),
				fmt.Sprintf("set %s in the function's environment (functionSettings.environment, or the function's configuration), "+
					"or read it with os.environ.get(%q, default)", m[1], m[1])
		},
	},
	{
		Code: "python-syntax", Title: "A Python file does not parse",
		Match:   regexp.MustCompile(`Syntax error in module '([^']+)'|SyntaxError: (.+)`),
		Example: "[ERROR] Runtime.UserCodeSyntaxError: Syntax error in module 'app': invalid syntax (app.py, line 3)",
		explain: func(m []string, f Facts) (string, string) {
			return "the code has a syntax error the Python in the image rejects: " + strings.TrimSpace(m[0]),
				"fix the line it names; if it parses on your machine, the image's Python is older than yours: match the base image's Python version"
		},
	},
	{
		Code: "mangum-event", Title: "mangum cannot tell what kind of event it got",
		Match:   regexp.MustCompile(`unable to infer a handler to use for the event`),
		Example: "[ERROR] RuntimeError: The adapter was unable to infer a handler to use for the event. This is likely related to how the Lambda function was invoked.",
		explain: func(m []string, f Facts) (string, string) {
			return "mangum got an event that is not an API Gateway, function URL or ALB request",
				"use verify.http (which sends an API Gateway HTTP API v2 event) rather than verify.event for a mangum app, or send an event of one of those shapes"
		},
	},
	{
		Code: "asgi-not-wrapped", Title: "The handler is the ASGI app itself, not wrapped by mangum",
		Match:   regexp.MustCompile(`__call__\(\) missing \d+ required positional argument|takes \d+ positional arguments? but \d+ (were|was) given`),
		Example: "[ERROR] TypeError: FastAPI.__call__() missing 1 required positional argument: 'send'",
		explain: func(m []string, f Facts) (string, string) {
			return "the CMD points Lambda at a function with the wrong signature, typically the ASGI app instead of a Lambda handler",
				"wrap the app: `from mangum import Mangum` and `handler = Mangum(app)` in the module, then CMD [\"module.handler\"]"
		},
	},
	{
		Code: "image-invalid", Title: "Lambda rejects the image (InvalidImage)",
		Match:   regexp.MustCompile(`InvalidImage|image manifest, config or layer media type .* is not supported|UnsupportedImageLayerDetected`),
		Example: "InvalidImage: The image manifest, config or layer media type for the source image 1.dkr/api@sha256:ab is not supported.",
		explain: func(m []string, f Facts) (string, string) {
			return "Lambda cannot use the image: it is an image index (attestations, several platforms), has non-gzip layers, or is for the wrong architecture",
				"build one platform with no provenance or SBOM attestations and gzip layers (images this provider builds are), for the function's architecture"
		},
	},
	{
		Code: "image-deleted", Title: "The image the function refers to was deleted",
		Match:   regexp.MustCompile(`ImageDeleted|does not exist\. Provide a valid source image|trying to use a deleted image`),
		Example: "ImageDeleted: Source image 1.dkr/api@sha256:ab does not exist. Provide a valid source image.",
		explain: func(m []string, f Facts) (string, string) {
			return "the image is no longer in ECR, typically removed by a lifecycle rule or by hand",
				"run pulumi up again to push the image anew; exempt deployed images from ECR lifecycle rules (this provider prunes only what nothing references)"
		},
	},
	{
		Code: "image-access-denied", Title: "Lambda may not pull the image (ImageAccessDenied)",
		Match:   regexp.MustCompile(`ImageAccessDenied|Lambda does not have permission to access the ECR image`),
		Example: "ImageAccessDenied: Lambda does not have permission to access the ECR image. Check the ECR permissions.",
		explain: func(m []string, f Facts) (string, string) {
			return "Lambda cannot read the image from ECR: the repository is in another account or region, or its policy or KMS key denies Lambda",
				"keep the repository in the function's account and region, or grant lambda.amazonaws.com ecr:BatchGetImage and ecr:GetDownloadUrlForLayer in the repository policy"
		},
	},
	{
		Code: "access-denied", Title: "The provider's credentials lack an IAM action",
		Match:   regexp.MustCompile(`not authorized to perform: ([a-z0-9-]+:[A-Za-z0-9]+)`),
		Example: "AccessDeniedException: User: arn:aws:iam::123456789012:user/ci is not authorized to perform: lambda:PublishVersion on resource: arn:aws:lambda:us-east-1:123456789012:function:api",
		explain: func(m []string, f Facts) (string, string) {
			return fmt.Sprintf("the credentials the provider runs with may not call %s", m[1]),
				fmt.Sprintf("grant %s to them; docs/iam-policy.json lists every action a deployment needs", m[1])
		},
	},
	{
		Code: "aws-unavailable", Title: "AWS kept failing a call through every retry",
		Match:   regexp.MustCompile(`exceeded maximum number of attempts|retry quota exceeded`),
		Example: "operation error Lambda: UpdateAlias, exceeded maximum number of attempts, 12, https response error StatusCode: 500, ServiceException",
		explain: func(m []string, f Facts) (string, string) {
			return "AWS answered the call with throttling or server errors on every retry",
				"run pulumi up again: the deployment resumes from the state it recorded; if it persists, check the service's health and the account's API limits"
		},
	},
	{
		Code: "buildkit-lost", Title: "The connection to BuildKit was lost mid-build",
		Match:   regexp.MustCompile(`error reading from server|transport is closing|connection reset by peer|code = Unavailable`),
		Example: "build failed: rpc error: code = Unavailable desc = error reading from server: EOF",
		explain: func(m []string, f Facts) (string, string) {
			return "buildkitd went away during the build: it exited, was restarted, or its host ran out of memory",
				"check that buildkitd is running (its log says why it stopped), then run pulumi up again; what it built is cached"
		},
	},
	{
		Code: "http-500", Title: "The app answered 500 Internal Server Error",
		Match:   regexp.MustCompile(`(?i)status is 500|Internal Server Error`),
		Example: `the response status is 500, not the expected 200; body: Internal Server Error`,
		explain: func(m []string, f Facts) (string, string) {
			cause := "the app raised an exception while serving the verification request"
			if len(f.LogErrors) > 0 {
				cause += "; the logs say: " + strings.Join(f.LogErrors[:min(3, len(f.LogErrors))], " | ")
			}
			return cause, "fix the exception in the logs (run the app locally with the same request), then deploy again"
		},
	},
	{
		Code: "unhandled-exception", Title: "The handler raised an exception",
		Match:   regexp.MustCompile(`\[ERROR\] (\w+(Error|Exception)): (.*)`),
		Example: "[ERROR] ValueError: invalid literal for int() with base 10: 'x'",
		explain: func(m []string, f Facts) (string, string) {
			return fmt.Sprintf("the handler raised %s: %s", m[1], strings.TrimSpace(m[3])),
				"fix the exception (its traceback is in the log excerpt), then deploy again"
		},
	},
}

// Explain diagnoses a failure message, looking at the log lines too.
func Explain(message string, f Facts) (Diagnosis, bool) {
	texts := append([]string{message}, f.LogErrors...)
	for _, e := range catalogue {
		for _, t := range texts {
			m := e.Match.FindStringSubmatch(t)
			if m == nil {
				continue
			}
			if cause, fix := e.explain(m, f); cause != "" {
				return Diagnosis{Code: e.Code, Cause: cause, Fix: fix}, true
			}
		}
	}
	return Diagnosis{}, false
}

// Catalogue lists what Explain knows, in the order it tries them.
func Catalogue() []Entry { return catalogue }

// Markdown renders the catalogue as a troubleshooting guide.
func Markdown() string {
	var b strings.Builder
	b.WriteString("# Troubleshooting\n\nGenerated from `internal/diagnose` by `go run ./internal/diagnose/gendocs`: every failure a deployment can explain, " +
		"with a real message it recognises, the cause and the fix the provider prints.\n")
	for _, e := range catalogue {
		d, _ := Explain(e.Example, Facts{Architecture: "x86_64", MemoryMB: 512, TimeoutSeconds: 3})
		fmt.Fprintf(&b, "\n## %s\n\n`%s`\n\n```\n%s\n```\n\n- **Cause:** %s.\n- **Fix:** %s.\n", e.Title, e.Code, e.Example, d.Cause, d.Fix)
	}
	return b.String()
}

// isHandlerModule says whether the missing module is the handler's own.
func isHandlerModule(missing, handlerModule string) bool {
	return missing == handlerModule || strings.HasPrefix(handlerModule, missing+".")
}

func top(module string) string { return strings.Split(module, ".")[0] }

// distribution finds the distribution for a dotted module, longest prefix first.
func distribution(module string) (string, bool) {
	parts := strings.Split(module, ".")
	for i := len(parts); i > 0; i-- {
		if d, ok := pyindex.Distribution(strings.Join(parts[:i], ".")); ok {
			return d, true
		}
	}
	return "", false
}

func platformOf(arch string) string {
	if arch == "arm64" {
		return "linux/arm64"
	}
	return "linux/amd64"
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
