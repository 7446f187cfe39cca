package provider

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi/sdk/v3/go/property"

	"github.com/lambdacontainer/pulumi-lambdacontainer/internal/ecr"
)

var (
	functionName   = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	functionArn    = regexp.MustCompile(`^(arn:aws[A-Za-z-]*:lambda:[a-z0-9-]+:)?\d{12}:function:([A-Za-z0-9_-]{1,64})(:[^:]+)?$`)
	aliasName      = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)
	allDigits      = regexp.MustCompile(`^[0-9]+$`)
	repositoryName = regexp.MustCompile(`^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$`)
	secretID       = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
	imageTag       = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	platforms      = []string{"linux/amd64", "linux/arm64"}
	analysisModes  = []string{"error", "warn", "off"}
	httpMethods    = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
)

// checker collects CheckFailures, skipping every property whose raw input is
// unknown (a preview before an upstream resource exists is not an error).
type checker struct {
	raw      property.Map
	failures []p.CheckFailure
}

// known reports whether the raw input at path is known all the way down.
func (c *checker) known(path ...string) bool {
	v := property.New(c.raw)
	for _, k := range path {
		if v.IsComputed() {
			return false
		}
		if !v.IsMap() {
			return true
		}
		v = v.AsMap().Get(k)
	}
	return !v.HasComputed()
}

// failf records a failure on the property at path when the input there is
// known. The engine prints the property's name before the reason.
func (c *checker) failf(path []string, format string, a ...any) {
	if !c.known(path...) {
		return
	}
	c.failures = append(c.failures, p.CheckFailure{Property: strings.Join(path, "."), Reason: fmt.Sprintf(format, a...)})
}

func at(path ...string) []string { return path }

// validate checks every input of a deployment; it reads the file system (the
// context and the Dockerfile) but has no side effects.
func validate(a Args, raw property.Map) []p.CheckFailure {
	c := &checker{raw: raw}
	c.function(a)
	c.repository(a.Repository)
	c.buildContext(a)
	if a.Platform != nil && !slices.Contains(platforms, *a.Platform) {
		c.failf(at("platform"), "%q is not a Lambda platform; use %q or %q, or leave it unset to follow the function's architecture", *a.Platform, platforms[0], platforms[1])
	}
	for k := range a.BuildArgs {
		if k == "" || strings.ContainsAny(k, "= \t\n") {
			c.failf(at("buildArgs"), "%q is not a build argument name; use the name of an ARG in the Dockerfile", k)
		}
	}
	for k := range a.Secrets {
		if !secretID.MatchString(k) {
			c.failf(at("secrets"), "%q is not a valid secret id; use letters, digits, '.', '_' and '-', as in RUN --mount=type=secret,id=NAME", k)
		}
	}
	for k, v := range a.Tags {
		if len(k) == 0 || len(k) > 128 || len(v) > 256 {
			c.failf(at("tags"), "tag %q: AWS tag keys have 1 to 128 characters and values at most 256", k)
		}
	}
	for _, t := range a.ImageTags {
		switch {
		case !imageTag.MatchString(t):
			c.failf(at("imageTags"), "%q is not an image tag; use 1 to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'", t)
		case t == ecr.CacheTag || strings.HasPrefix(t, "src-") || strings.HasPrefix(t, ecr.RefTagPrefix):
			c.failf(at("imageTags"), "%q is a tag this provider manages (%s, src-..., %s...); choose another name", t, ecr.CacheTag, ecr.RefTagPrefix)
		}
	}
	if a.Alias != nil {
		if n := *a.Alias; !aliasName.MatchString(n) || allDigits.MatchString(n) {
			c.failf(at("alias"), "%q is not a valid alias name; use 1 to 128 letters, digits, '-' or '_', not all digits (for example \"live\")", n)
		}
	}
	if a.KeepVersions != nil && *a.KeepVersions < 1 {
		c.failf(at("keepVersions"), "must be at least 1 (the version being deployed), got %d", *a.KeepVersions)
	}
	if a.Analysis != nil && !slices.Contains(analysisModes, *a.Analysis) {
		c.failf(at("analysis"), "%q is not a mode; use \"error\", \"warn\" or \"off\"", *a.Analysis)
	}
	if a.Verify != nil {
		c.verify(*a.Verify)
	}
	return c.failures
}

func (c *checker) function(a Args) {
	hasFn := (a.Function != nil && *a.Function != "") || c.raw.Get("function").IsComputed()
	hasStack := a.FunctionFromStack != nil || c.raw.Get("functionFromStack").IsComputed()
	switch {
	case hasFn && hasStack:
		c.failures = append(c.failures, p.CheckFailure{Property: "function",
			Reason: "function and functionFromStack are both set; keep exactly one of them"})
	case !hasFn && !hasStack:
		c.failures = append(c.failures, p.CheckFailure{Property: "function",
			Reason: "missing; set function to the Lambda function's name or ARN, or functionFromStack to the CloudFormation stack output that holds it"})
	case a.Function != nil && *a.Function != "":
		fn := *a.Function
		if m := functionArn.FindStringSubmatch(fn); m != nil {
			if m[3] != "" {
				c.failf(at("function"), "%q names a version or alias (%s); give the unqualified function and set alias to choose the alias", fn, m[3][1:])
			}
		} else if !functionName.MatchString(fn) {
			c.failf(at("function"), "%q is neither a function name (1 to 64 letters, digits, '-' or '_') nor a Lambda function ARN", fn)
		}
	case a.FunctionFromStack != nil:
		if a.FunctionFromStack.StackName == "" {
			c.failf(at("functionFromStack", "stackName"), "empty; give the CloudFormation stack's name")
		}
		if a.FunctionFromStack.OutputKey == "" {
			c.failf(at("functionFromStack", "outputKey"), "empty; give the key of the stack output that holds the function's name or ARN")
		}
	}
}

func (c *checker) repository(repo string) {
	if repo == "" {
		c.failf(at("repository"), "empty; give an ECR repository name such as \"orders-api\", or a repository URI")
		return
	}
	name := repo
	if host, rest, ok := strings.Cut(repo, "/"); ok && strings.ContainsAny(host, ".:") {
		name = rest // a full repository URI: HOST/NAME
	}
	switch {
	case strings.Contains(name, "@") || strings.Contains(name, ":"):
		c.failf(at("repository"), "%q carries a tag or digest; give the repository alone, the provider chooses the tag", repo)
	case len(name) < 2 || len(name) > 256 || !repositoryName.MatchString(name):
		c.failf(at("repository"), "%q is not a valid ECR repository name; use 2 to 256 lowercase letters, digits and '.', '_', '-' or '/' separators, such as \"team/orders-api\"", name)
	}
}

// buildContext checks that the context is a directory holding the Dockerfile.
func (c *checker) buildContext(a Args) {
	if !c.known("context") {
		return
	}
	if a.Context == "" {
		c.failf(at("context"), "empty; give the directory to build, relative to the Pulumi program (for example \"./backend\")")
		return
	}
	dir, err := filepath.Abs(a.Context)
	if err != nil {
		c.failf(at("context"), "%v", err)
		return
	}
	home, _ := os.UserHomeDir()
	if dir == "/" || dir == home {
		c.failf(at("context"), "%q resolves to %s, a whole file system or home directory, which BuildKit would send in full; give the directory that holds your Dockerfile", a.Context, dir)
		return
	}
	switch st, err := os.Stat(dir); {
	case errors.Is(err, os.ErrNotExist):
		c.failf(at("context"), "%q does not exist (looked for %s); give the directory that holds your Dockerfile, relative to the Pulumi program", a.Context, dir)
		return
	case err != nil:
		c.failf(at("context"), "cannot read %s: %v", dir, err)
		return
	case !st.IsDir():
		c.failf(at("context"), "%s is a file, not a directory; give the directory that holds your Dockerfile", dir)
		return
	}
	if !c.known("dockerfile") {
		return
	}
	path, field := dockerfilePath(a), "dockerfile"
	if a.Dockerfile == nil {
		field = "context"
	}
	switch st, err := os.Stat(path); {
	case errors.Is(err, os.ErrNotExist) && a.Dockerfile == nil:
		c.failf(at(field), "no Dockerfile in %s; add one there, or set dockerfile to its path relative to the context", dir)
	case errors.Is(err, os.ErrNotExist):
		c.failf(at(field), "%s does not exist; dockerfile is relative to the context (%s)", path, dir)
	case err != nil:
		c.failf(at(field), "cannot read %s: %v", path, err)
	case st.IsDir():
		c.failf(at(field), "%s is a directory; give the Dockerfile itself", path)
	default:
		if rel, err := filepath.Rel(dir, path); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			c.failf(at(field), "%s is outside the context %s; move the Dockerfile into the context, or widen context to a directory that holds both", path, dir)
		}
	}
}

// dockerfilePath resolves the Dockerfile: relative to the context, unless absolute.
func dockerfilePath(a Args) string {
	dir, _ := filepath.Abs(a.Context)
	if a.Dockerfile == nil || *a.Dockerfile == "" {
		return filepath.Join(dir, "Dockerfile")
	}
	if filepath.IsAbs(*a.Dockerfile) {
		return *a.Dockerfile
	}
	return filepath.Join(dir, *a.Dockerfile)
}

func (c *checker) verify(v Verify) {
	if v.HTTP != nil && v.Event != nil {
		c.failf(at("verify"), "http and event are both set; keep one: http for a web backend behind mangum, event for any other handler")
	}
	if h := v.HTTP; h != nil {
		if h.Method != nil && !slices.Contains(httpMethods, *h.Method) {
			c.failf(at("verify", "http", "method"), "%q is not an HTTP method; use one of %s", *h.Method, strings.Join(httpMethods, ", "))
		}
		if !strings.HasPrefix(h.Path, "/") {
			c.failf(at("verify", "http", "path"), "%q must start with '/', as in \"/health\"", h.Path)
		}
	}
	if v.Event != nil {
		var event any
		if err := json.Unmarshal([]byte(*v.Event), &event); err != nil {
			c.failf(at("verify", "event"), "not valid JSON: %s; give the event as a JSON document, such as {\"ping\": true}", jsonErrorAt(*v.Event, err))
		}
	}
	if s := v.ExpectStatus; s != nil && (*s < 100 || *s > 599) {
		c.failf(at("verify", "expectStatus"), "%d is not an HTTP status; use 100 to 599, such as 200", *s)
	}
	if v.URL != nil {
		if u, err := url.Parse(*v.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			c.failf(at("verify", "url"), "%q is not an http(s) URL; give the full URL, such as https://example.com/health", *v.URL)
		}
	}
	if t := v.TimeoutSeconds; t != nil && (*t < 1 || *t > 900) {
		c.failf(at("verify", "timeoutSeconds"), "%d is out of range; use 1 to 900 seconds (Lambda's own limit is 900)", *t)
	}
	if w := v.LogWindowSeconds; w != nil && (*w < 0 || *w > 3600) {
		c.failf(at("verify", "logWindowSeconds"), "%d is out of range; use 0 (no log scan) to 3600 seconds", *w)
	}
}

// jsonErrorAt turns a JSON decoding error into "line L, column C: message".
func jsonErrorAt(doc string, err error) string {
	var offset int64 = -1
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		offset = syntax.Offset
	case errors.As(err, &typeErr):
		offset = typeErr.Offset
	}
	if offset < 0 {
		return err.Error()
	}
	before := doc[:min(int(offset), len(doc))]
	line := strings.Count(before, "\n") + 1
	col := len(before) - strings.LastIndex(before, "\n") - 1 // 1-based column of the offending byte
	return fmt.Sprintf("line %d, column %d: %v", line, col, err)
}
