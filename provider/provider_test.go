package provider

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/blang/semver"
	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/integration"
	presource "github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/property"
)

const urn = presource.URN("urn:pulumi:dev::proj::lambdacontainer:index:LambdaContainerDeployment::api")

func server(t *testing.T) integration.Server {
	t.Helper()
	s, err := integration.NewServer(context.Background(), Name, semver.MustParse(Version), integration.WithProvider(New()))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// valid is a complete, valid set of inputs; each case changes one thing.
func valid() map[string]property.Value {
	return map[string]property.Value{
		"function":   property.New("orders-api"),
		"repository": property.New("orders-api"),
		"context":    property.New("testdata/backend"),
		"alias":      property.New("live"),
		"verify": property.New(map[string]property.Value{
			"http":         property.New(map[string]property.Value{"path": property.New("/health")}),
			"expectStatus": property.New(200.0),
		}),
	}
}

func check(t *testing.T, edit func(m map[string]property.Value)) p.CheckResponse {
	t.Helper()
	in := valid()
	edit(in)
	resp, err := server(t).Check(p.CheckRequest{Urn: urn, Inputs: property.NewMap(in)})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestCheckAcceptsValidInputsAndAppliesDefaults(t *testing.T) {
	resp := check(t, func(map[string]property.Value) {})
	if len(resp.Failures) != 0 {
		t.Fatalf("unexpected failures: %v", resp.Failures)
	}
	for key, want := range map[string]property.Value{
		"cache":        property.New(true),
		"rollback":     property.New(true),
		"keepVersions": property.New(3.0),
		"analysis":     property.New("error"),
	} {
		if got := resp.Inputs.Get(key); !got.Equals(want) {
			t.Errorf("%s = %v, want the default %v", key, got, want)
		}
	}
	method := resp.Inputs.Get("verify").AsMap().Get("http").AsMap().Get("method")
	if !method.Equals(property.New("GET")) {
		t.Errorf("verify.http.method = %v, want GET", method)
	}
}

func TestCheckFailures(t *testing.T) {
	obj := func(kv ...any) property.Value {
		m := map[string]property.Value{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1].(property.Value)
		}
		return property.New(m)
	}
	s := property.New[string]
	cases := []struct {
		name, property, reason string
		edit                   func(m map[string]property.Value)
	}{
		{"both function sources", "function", "keep exactly one", func(m map[string]property.Value) {
			m["functionFromStack"] = obj("stackName", s("orders"), "outputKey", s("ApiFunction"))
		}},
		{"no function source", "function", "set function to the Lambda function's name or ARN", func(m map[string]property.Value) {
			delete(m, "function")
		}},
		{"qualified function ARN", "function", "give the unqualified function", func(m map[string]property.Value) {
			m["function"] = s("arn:aws:lambda:us-east-1:123456789012:function:orders-api:live")
		}},
		{"bad function name", "function", "neither a function name", func(m map[string]property.Value) {
			m["function"] = s("orders api")
		}},
		{"context missing", "context", "does not exist", func(m map[string]property.Value) {
			m["context"] = s("testdata/nope")
		}},
		{"context is a file", "context", "is a file, not a directory", func(m map[string]property.Value) {
			m["context"] = s("testdata/backend/app.py")
		}},
		{"no Dockerfile in context", "context", "no Dockerfile in", func(m map[string]property.Value) {
			m["context"] = s("testdata")
		}},
		{"dockerfile missing", "dockerfile", "does not exist; dockerfile is relative to the context", func(m map[string]property.Value) {
			m["dockerfile"] = s("Dockerfile.prod")
		}},
		{"alias all digits", "alias", "not all digits", func(m map[string]property.Value) {
			m["alias"] = s("42")
		}},
		{"alias syntax", "alias", "not a valid alias name", func(m map[string]property.Value) {
			m["alias"] = s("live!")
		}},
		{"keepVersions zero", "keepVersions", "must be at least 1", func(m map[string]property.Value) {
			m["keepVersions"] = property.New(0.0)
		}},
		{"expectStatus out of range", "verify.expectStatus", "use 100 to 599", func(m map[string]property.Value) {
			m["verify"] = obj("expectStatus", property.New(700.0))
		}},
		{"event not JSON", "verify.event", "not valid JSON: line 2, column 11", func(m map[string]property.Value) {
			m["verify"] = obj("event", s("{\n  \"a\": tru}"))
		}},
		{"http and event", "verify", "keep one", func(m map[string]property.Value) {
			m["verify"] = obj("event", s("{}"), "http", obj("path", s("/")))
		}},
		{"http path", "verify.http.path", "must start with '/'", func(m map[string]property.Value) {
			m["verify"] = obj("http", obj("path", s("health")))
		}},
		{"http method", "verify.http.method", "not an HTTP method", func(m map[string]property.Value) {
			m["verify"] = obj("http", obj("path", s("/"), "method", s("FETCH")))
		}},
		{"verify url", "verify.url", "not an http(s) URL", func(m map[string]property.Value) {
			m["verify"] = obj("url", s("example.com/health"))
		}},
		{"verify timeout", "verify.timeoutSeconds", "use 1 to 900", func(m map[string]property.Value) {
			m["verify"] = obj("timeoutSeconds", property.New(0.0))
		}},
		{"platform", "platform", `use "linux/amd64" or "linux/arm64"`, func(m map[string]property.Value) {
			m["platform"] = s("linux/386")
		}},
		{"analysis mode", "analysis", `use "error", "warn" or "off"`, func(m map[string]property.Value) {
			m["analysis"] = s("strict")
		}},
		{"repository with tag", "repository", "carries a tag or digest", func(m map[string]property.Value) {
			m["repository"] = s("orders-api:latest")
		}},
		{"repository name", "repository", "not a valid ECR repository name", func(m map[string]property.Value) {
			m["repository"] = s("Orders_API")
		}},
		{"secret id", "secrets", "not a valid secret id", func(m map[string]property.Value) {
			m["secrets"] = obj("pip token", s("x"))
		}},
		{"image tag syntax", "imageTags", "not an image tag", func(m map[string]property.Value) {
			m["imageTags"] = property.New([]property.Value{s("v1.2"), s("-latest")})
		}},
		{"image tag managed here", "imageTags", "a tag this provider manages", func(m map[string]property.Value) {
			m["imageTags"] = property.New([]property.Value{s("buildcache")})
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := check(t, tc.edit)
			if len(resp.Failures) != 1 {
				t.Fatalf("want exactly one failure, got %v", resp.Failures)
			}
			f := resp.Failures[0]
			if f.Property != tc.property || !strings.Contains(f.Reason, tc.reason) {
				t.Errorf("got %q: %q\nwant %q: ...%s...", f.Property, f.Reason, tc.property, tc.reason)
			}
		})
	}
}

func TestCheckAcceptsRepositoryURIsAndARNs(t *testing.T) {
	resp := check(t, func(m map[string]property.Value) {
		m["repository"] = property.New("127.0.0.1:5000/team/orders-api")
		m["function"] = property.New("arn:aws:lambda:eu-west-1:123456789012:function:orders-api")
		m["platform"] = property.New("linux/arm64")
		m["dockerfile"] = property.New("Dockerfile")
	})
	if len(resp.Failures) != 0 {
		t.Fatalf("unexpected failures: %v", resp.Failures)
	}
}

func TestCheckSkipsUnknownInputs(t *testing.T) {
	unknown := property.New(property.Computed)
	resp := check(t, func(m map[string]property.Value) {
		m["function"] = unknown
		m["functionFromStack"] = property.Value{}
		delete(m, "functionFromStack")
		m["context"] = unknown
		m["repository"] = unknown
		m["alias"] = unknown
		m["verify"] = property.New(map[string]property.Value{"event": unknown, "expectStatus": unknown})
	})
	if len(resp.Failures) != 0 {
		t.Fatalf("unknown inputs must not fail Check: %v", resp.Failures)
	}
	if !resp.Inputs.Get("function").IsComputed() || !resp.Inputs.Get("context").IsComputed() {
		t.Errorf("unknown inputs must stay unknown: %v", resp.Inputs)
	}
}

func TestCheckKeepsSecretsSecret(t *testing.T) {
	resp := check(t, func(m map[string]property.Value) {
		m["secrets"] = property.New(map[string]property.Value{"pip": property.New("hunter2")})
	})
	if len(resp.Failures) != 0 || !resp.Inputs.Get("secrets").Secret() {
		t.Fatalf("secrets must come back as a secret: %v %v", resp.Failures, resp.Inputs.Get("secrets"))
	}
}

func TestCreatePreviewMarksOutputsUnknown(t *testing.T) {
	in := check(t, func(map[string]property.Value) {}).Inputs
	preview, err := server(t).Create(p.CreateRequest{Urn: urn, Properties: in, DryRun: true})
	if err != nil {
		t.Fatalf("preview must succeed: %v", err)
	}
	if !preview.Properties.Get("imageUri").IsComputed() || !preview.Properties.Get("version").IsComputed() {
		t.Errorf("preview outputs must be unknown: %v", preview.Properties)
	}
}

func TestConfigureAppliesEnvironmentFallbacks(t *testing.T) {
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "eu-central-1")
	t.Setenv("AWS_PROFILE", "ci")
	t.Setenv("BUILDKIT_HOST", "tcp://127.0.0.1:1234")
	c := &Config{}
	if err := c.Configure(context.Background()); err != nil {
		t.Fatal(err)
	}
	if *c.Region != "eu-central-1" || *c.Profile != "ci" || *c.BuildkitHost != "tcp://127.0.0.1:1234" {
		t.Fatalf("fallbacks not applied: %+v", c)
	}
	t.Setenv("BUILDKIT_TLS_DIR", "/etc/buildkit/certs")
	if err := c.Configure(context.Background()); err != nil || *c.BuildkitTLS != "/etc/buildkit/certs" {
		t.Fatalf("BUILDKIT_TLS_DIR not applied to a tcp:// host: %v %+v", err, c)
	}
	// A TLS directory in the environment says nothing about a unix socket.
	t.Setenv("BUILDKIT_HOST", "unix:///run/buildkit/buildkitd.sock")
	c = &Config{}
	if err := c.Configure(context.Background()); err != nil || c.BuildkitTLS != nil {
		t.Fatalf("BUILDKIT_TLS_DIR applied to a unix socket: %v %+v", err, c)
	}
	region := "us-west-2"
	c = &Config{Region: &region}
	if err := c.Configure(context.Background()); err != nil || *c.Region != "us-west-2" {
		t.Fatalf("explicit region overridden: %v %v", err, *c.Region)
	}
}

// The engine may call Configure without CheckConfig: the environment must
// still be read (and checked) there.
func TestEngineConfigureReadsTheEnvironment(t *testing.T) {
	t.Setenv("BUILDKIT_HOST", "buildkitd.sock")
	err := server(t).Configure(p.ConfigureRequest{Args: property.NewMap(nil)})
	if err == nil || !strings.Contains(err.Error(), "buildkitHost") || !strings.Contains(err.Error(), "unix:///run/buildkit/buildkitd.sock") {
		t.Fatalf("Configure must check BUILDKIT_HOST and name the fix, got %v", err)
	}
	t.Setenv("BUILDKIT_HOST", "unix:///run/buildkit/buildkitd.sock")
	if err := server(t).Configure(p.ConfigureRequest{Args: property.NewMap(nil)}); err != nil {
		t.Fatal(err)
	}
}

func TestCheckConfigNamesBadEndpoints(t *testing.T) {
	resp, err := server(t).CheckConfig(p.CheckRequest{Urn: "urn:pulumi:dev::proj::pulumi:providers:lambdacontainer::default",
		Inputs: property.NewMap(map[string]property.Value{"endpoints": property.New(map[string]property.Value{
			"lambda": property.New("127.0.0.1:4566"),
			"s3":     property.New("http://127.0.0.1:4566"),
		})})})
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(resp.Failures)
	if len(resp.Failures) != 2 || !strings.Contains(got, `lambda: "127.0.0.1:4566" is not an http(s) URL`) || !strings.Contains(got, `unknown service "s3"`) {
		t.Fatalf("unexpected failures: %v", resp.Failures)
	}
}

// The SDKs send the plugin's version with the default provider's inputs.
func TestCheckConfigAcceptsTheSDKsVersion(t *testing.T) {
	resp, err := server(t).CheckConfig(p.CheckRequest{Urn: "urn:pulumi:dev::proj::pulumi:providers:lambdacontainer::default_0_1_0",
		Inputs: property.NewMap(map[string]property.Value{"version": property.New("0.1.0"), "region": property.New("eu-west-1")})})
	if err != nil || len(resp.Failures) > 0 || resp.Inputs.Get("region").AsString() != "eu-west-1" {
		t.Fatalf("CheckConfig with a version: %v %v", err, resp.Failures)
	}
}

// A config change must update the provider, not replace every deployment.
func TestConfigChangeReplacesNothing(t *testing.T) {
	cfg := func(region, endpoint string) property.Map {
		return property.NewMap(map[string]property.Value{
			"region":    property.New(region),
			"endpoints": property.New(map[string]property.Value{"all": property.New(endpoint)}),
		})
	}
	resp, err := server(t).DiffConfig(p.DiffRequest{Urn: "urn:pulumi:dev::proj::pulumi:providers:lambdacontainer::default",
		State: cfg("us-east-1", "http://127.0.0.1:1").Set("version", property.New("0.1.0")).Set("__pulumi-go-provider-infer", property.New(true)), Inputs: cfg("eu-west-1", "http://127.0.0.1:2")})
	if err != nil {
		t.Fatal(err)
	}
	if !resp.HasChanges || len(resp.DetailedDiff) != 2 {
		t.Fatalf("want region and endpoints.all changed, got %+v", resp)
	}
	for k, d := range resp.DetailedDiff {
		if d.Kind != p.Update {
			t.Errorf("%s: diff kind %v, want a plain update", k, d.Kind)
		}
	}
	same, err := server(t).DiffConfig(p.DiffRequest{State: cfg("us-east-1", "http://x:1"), Inputs: cfg("us-east-1", "http://x:1")})
	if err != nil || same.HasChanges {
		t.Fatalf("unchanged config reported a change: %+v %v", same, err)
	}
}

// copyBackend copies testdata/backend into a fresh directory.
func copyBackend(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"Dockerfile", "app.py"} {
		data, err := os.ReadFile(filepath.Join("testdata", "backend", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestCheckHashesTheSourceAndDiffNamesChangedFiles(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	dir := copyBackend(t)
	s := server(t)
	inputs := func() property.Map {
		in := valid()
		in["context"] = property.New(dir)
		resp, err := s.Check(p.CheckRequest{Urn: urn, Inputs: property.NewMap(in)})
		if err != nil || len(resp.Failures) != 0 {
			t.Fatalf("check: %v %v", err, resp.Failures)
		}
		return resp.Inputs
	}
	old := inputs()
	hash := old.Get("sourceHash")
	if !hash.IsString() || !strings.HasPrefix(hash.AsString(), "blake3:") {
		t.Fatalf("sourceHash = %v", hash)
	}
	files := old.Get("sourceFiles").AsMap()
	if files.Len() != 2 || !files.Get("app.py").IsString() || !files.Get("Dockerfile").IsString() {
		t.Fatalf("sourceFiles = %v", files)
	}
	if again := inputs(); !again.Get("sourceHash").Equals(hash) {
		t.Fatalf("an unchanged context hashed differently")
	}
	state := deployed(old)

	noChange, err := s.Diff(p.DiffRequest{Urn: urn, ID: "api", State: state, OldInputs: old, Inputs: inputs()})
	if err != nil || noChange.HasChanges {
		t.Fatalf("unchanged source must not diff: %+v %v", noChange, err)
	}

	if err := os.WriteFile(filepath.Join(dir, "app.py"), []byte("def handler(e, c):\n    return {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "extra.py"), []byte("X = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	news := inputs()
	diff, err := s.Diff(p.DiffRequest{Urn: urn, ID: "api", State: state, OldInputs: old, Inputs: news})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range diff.DetailedDiff {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{`sourceFiles["app.py"]`, `sourceFiles["extra.py"]`, "sourceHash"}
	if !diff.HasChanges || !slices.Equal(keys, want) {
		t.Fatalf("detailed diff keys = %v, want %v", keys, want)
	}
	if diff.DetailedDiff[`sourceFiles["extra.py"]`].Kind != p.Add || diff.DetailedDiff[`sourceFiles["app.py"]`].Kind != p.Update {
		t.Fatalf("wrong kinds: %+v", diff.DetailedDiff)
	}
}

func TestUpdatePreviewMarksImageOutputsUnknown(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	s := server(t)
	in := valid()
	in["context"] = property.New(copyBackend(t))
	old, err := s.Check(p.CheckRequest{Urn: urn, Inputs: property.NewMap(in)})
	if err != nil {
		t.Fatal(err)
	}
	state := deployed(old.Inputs)
	news := old.Inputs.Set("sourceHash", property.New("blake3:changed"))
	resp, err := s.Update(p.UpdateRequest{Urn: urn, ID: "api", State: state, OldInputs: old.Inputs, Inputs: news, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"imageUri", "imageDigest", "version"} {
		if !resp.Properties.Get(k).IsComputed() {
			t.Errorf("%s must be unknown in the update preview, got %v", k, resp.Properties.Get(k))
		}
	}
}

// deployed is the state a deployment of inputs would record.
func deployed(inputs property.Map) property.Map {
	for k, v := range map[string]property.Value{
		"imageUri":       property.New("127.0.0.1:5000/orders-api@sha256:00"),
		"imageDigest":    property.New("sha256:00"),
		"contentTag":     property.New("src-0"),
		"imageSizeBytes": property.New(1.0),
		"imagePlatform":  property.New("linux/amd64"),
		"functionArn":    property.New("arn:aws:lambda:us-east-1:123456789012:function:orders-api"),
		"version":        property.New("1"),
		"findings":       property.New([]property.Value{}),
	} {
		inputs = inputs.Set(k, v)
	}
	return inputs
}

// The preflight analysis runs in Check: with analysis error (the default) a
// missing requirement fails the preview, naming the file, the line and the
// distribution; warn lets it through; off skips the analysis.
func TestCheckRunsThePreflightAnalysis(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	dir := copyBackend(t)
	os.WriteFile(filepath.Join(dir, "app.py"), []byte("import json\nimport yaml\n\ndef handler(event, context):\n    return {}\n"), 0o644)
	for mode, want := range map[string]string{"error": "app.py:2: `yaml` is imported but no requirement provides it", "warn": "", "off": ""} {
		resp := check(t, func(m map[string]property.Value) {
			m["context"] = property.New(dir)
			m["analysis"] = property.New(mode)
		})
		got := fmt.Sprint(resp.Failures)
		if (want == "") != (len(resp.Failures) == 0) || !strings.Contains(got, want) || (want != "" && !strings.Contains(got, "add `PyYAML` to a requirements.txt")) {
			t.Errorf("analysis %s: failures %v", mode, resp.Failures)
		}
	}
}

// Hostile paths: contexts that climb out, symlinks that point out of the
// context, a Dockerfile outside it, and a huge file.
func TestCheckHostilePaths(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	root := t.TempDir()
	program := filepath.Join(root, "infra", "stack")
	os.MkdirAll(program, 0o755)
	outside := filepath.Join(root, "outside")
	os.MkdirAll(outside, 0o755)
	os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("v1"), 0o644)
	backend := copyBackend(t)
	os.Symlink(filepath.Join(outside, "secret.txt"), filepath.Join(backend, "link-out"))
	big, _ := os.Create(filepath.Join(backend, "weights.bin"))
	big.Truncate(1 << 30) // 1 GiB, sparse
	big.Close()
	t.Chdir(program)
	climb, _ := filepath.Rel(backend, filepath.Join(outside, "secret.txt"))
	for _, c := range []struct {
		name, context, dockerfile, property, reason string
	}{
		{"a context that climbs out", "../..", "", "context", "no Dockerfile in " + root},
		{"the file system root", "/", "", "context", "a whole file system or home directory"},
		{"a Dockerfile outside the context", backend, filepath.Join(outside, "secret.txt"), "dockerfile", "is outside the context"},
		{"a Dockerfile that climbs out", backend, climb, "dockerfile", "is outside the context"},
	} {
		resp := check(t, func(m map[string]property.Value) {
			m["context"] = property.New(c.context)
			if c.dockerfile != "" {
				m["dockerfile"] = property.New(c.dockerfile)
			}
		})
		if len(resp.Failures) != 1 || resp.Failures[0].Property != c.property || !strings.Contains(resp.Failures[0].Reason, c.reason) {
			t.Errorf("%s: %+v", c.name, resp.Failures)
		}
	}
	// A symlink out of the context is hashed as a link, never followed; a
	// huge file is hashed by streaming it.
	hashOf := func() (string, map[string]property.Value) {
		resp := check(t, func(m map[string]property.Value) { m["context"] = property.New(backend) })
		if len(resp.Failures) > 0 {
			t.Fatalf("the backend with a link out and a huge file: %+v", resp.Failures)
		}
		return resp.Inputs.Get("sourceHash").AsString(), resp.Inputs.Get("sourceFiles").AsMap().AsMap()
	}
	before, files := hashOf()
	if files["link-out"].IsNull() || files["weights.bin"].IsNull() {
		t.Fatalf("sourceFiles: %v", files)
	}
	os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("v2, changed outside the context"), 0o644)
	if after, _ := hashOf(); after != before {
		t.Fatal("a change outside the context, behind a symlink, changed the source hash")
	}
}

// Errors shown from Create, Update, Read and Delete carry no credential,
// even when an endpoint (a proxy, say) quotes one back: not a password in a
// URL, not the secret key or the session token of the credentials the
// provider resolved (here from a shared credentials file, so that the
// environment holds none of them).
func TestErrorsAreScrubbedOfCredentials(t *testing.T) {
	const secret, session = "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY", "FwoGZXIvYXdzEXAMPLESESSIONTOKEN0123456789"
	creds := filepath.Join(t.TempDir(), "credentials")
	if err := os.WriteFile(creds, []byte("[deployer]\naws_access_key_id = AKIAEXAMPLEEXAMPLE\naws_secret_access_key = "+secret+
		"\naws_session_token = "+session+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"AWS_SHARED_CREDENTIALS_FILE": creds, "AWS_CONFIG_FILE": "/dev/null", "AWS_PROFILE": "deployer",
		"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "", "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": ""} {
		t.Setenv(k, v)
	}
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Amzn-ErrorType", "AccessDeniedException")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `{"message": "denied: key %s, token %s, upstream http://deployer:hunter2-proxy-password@10.0.0.1:3128"}`, secret, session)
	}))
	defer echo.Close()
	s := server(t)
	if err := s.Configure(p.ConfigureRequest{Args: property.NewMap(map[string]property.Value{
		"endpoints": property.New(map[string]property.Value{"all": property.New(echo.URL)})})}); err != nil {
		t.Fatal(err)
	}
	in := check(t, func(map[string]property.Value) {}).Inputs
	st := deployed(in)
	_, createErr := s.Create(p.CreateRequest{Urn: urn, Properties: in})
	_, updateErr := s.Update(p.UpdateRequest{Urn: urn, ID: "api", State: st, OldInputs: in, Inputs: in.Set("sourceHash", property.New("blake3:changed"))})
	_, readErr := s.Read(p.ReadRequest{Urn: urn, ID: "api", Properties: st, Inputs: in})
	deleteErr := s.Delete(p.DeleteRequest{Urn: urn, ID: "api", Properties: st})
	for name, err := range map[string]error{"Create": createErr, "Update": updateErr, "Read": readErr, "Delete": deleteErr} {
		if err == nil {
			t.Fatalf("%s against a denying endpoint succeeded", name)
		}
		if msg := err.Error(); strings.Contains(msg, "hunter2-proxy-password") || strings.Contains(msg, secret) || strings.Contains(msg, session) ||
			!strings.Contains(msg, "key ****, token ****, upstream http://****@10.0.0.1") {
			t.Errorf("%s's error shows a credential: %s", name, msg)
		}
	}
}
