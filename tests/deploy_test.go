package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/lambdacontainer/pulumi-lambdacontainer/internal/testenv"
	"github.com/lambdacontainer/pulumi-lambdacontainer/localaws"
)

// localStack is what a real deployment needs here: a localaws, a buildkitd
// and the stand-in Lambda Python base image in localaws's registry.
type localStack struct {
	aws   *localaws.Server
	dir   string   // localaws's state
	env   []string // for the Pulumi CLI and, through it, the provider
	base  string   // BASE_IMAGE
	bk    *testenv.BuildKit
	cache string // the provider's cache directory (XDG_CACHE_HOME)
}

func newLocalStack(t *testing.T) *localStack {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("deployments run functions with runc and build with buildkitd: run the tests as root (CI does)")
	}
	testenv.Tool(t, "runc")
	dir := t.TempDir()
	// Every deployment runs under the documented least-privilege policy.
	allow, err := localaws.LoadAllowedActions("../docs/iam-policy.json")
	if err != nil {
		t.Fatal(err)
	}
	s, err := localaws.Start(localaws.Options{Dir: dir, UpdateDelay: 150 * time.Millisecond, AllowActions: allow, Log: log.New(io.Discard, "", 0)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		suiteCalls.record(t.Name(), s.Calls())
		s.Close()
	})
	layout := os.Getenv("LAMBDACONTAINER_PYTHON_BASE")
	if layout == "" {
		t.Fatal("LAMBDACONTAINER_PYTHON_BASE is not set: run scripts/bootstrap.sh, then the tests through `make test`")
	}
	base, err := s.Import(context.Background(), layout, "lambda/python:3.11")
	if err != nil {
		t.Fatal(err)
	}
	ls := &localStack{aws: s, dir: dir, base: base, bk: testenv.StartBuildkitd(t), cache: t.TempDir()}
	ls.env = []string{
		"AWS_ENDPOINT_URL=" + s.Endpoint(), "AWS_REGION=" + s.Region(), "AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "BUILDKIT_HOST=" + ls.bk.Addr, "XDG_CACHE_HOME=" + ls.cache,
	}
	return ls
}

func (ls *localStack) lambda() *lambda.Client {
	return lambda.NewFromConfig(aws.Config{Region: ls.aws.Region(), BaseEndpoint: aws.String(ls.aws.Endpoint()),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")})
}

// serving says what the function answers through its alias, and the version.
func (ls *localStack) serving(t *testing.T, fn string) (version, body string) {
	t.Helper()
	c := ls.lambda()
	a, err := c.GetAlias(context.Background(), &lambda.GetAliasInput{FunctionName: aws.String(fn), Name: aws.String("live")})
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String(fn), Qualifier: aws.String("live"),
		Payload: []byte(`{"version": "2.0", "routeKey": "$default", "rawPath": "/health", "rawQueryString": "", "headers": {"host": "x"},
			"requestContext": {"http": {"method": "GET", "path": "/health", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"}}, "isBase64Encoded": false}`)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(a.FunctionVersion), string(out.Payload)
}

// writes counts the calls that change something: builds' pushes, code updates, versions.
func (ls *localStack) writes() map[string]int {
	c := ls.aws.Calls()
	out := map[string]int{}
	for _, op := range []string{"lambda:UpdateFunctionCode", "lambda:PublishVersion", "lambda:UpdateAlias", "lambda:CreateAlias", "lambda:CreateFunction", "registry:PUT-manifest", "registry:PUT-blob"} {
		out[op] = c.Calls[op]
	}
	return out
}

// registry returns an ECR client of localaws and the registry login its
// token gives.
func (ls *localStack) registry(t *testing.T) (*awsecr.Client, remote.Option) {
	t.Helper()
	c := awsecr.NewFromConfig(aws.Config{Region: ls.aws.Region(), BaseEndpoint: aws.String(ls.aws.Endpoint()),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")})
	tok, err := c.GetAuthorizationToken(context.Background(), &awsecr.GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	return c, remote.WithAuth(authn.FromConfig(authn.AuthConfig{Auth: aws.ToString(tok.AuthorizationData[0].AuthorizationToken)}))
}

// addedLayerBytes is the compressed size of the layers of image ref that
// image old lacks, and how many there are.
func (ls *localStack) addedLayerBytes(t *testing.T, old, ref string) (n int, total int64) {
	t.Helper()
	_, auth := ls.registry(t)
	digests := map[string]bool{}
	for i, r := range []string{old, ref} {
		d, err := name.NewDigest(r)
		if err != nil {
			t.Fatal(err)
		}
		img, err := remote.Image(d, auth)
		if err != nil {
			t.Fatalf("reading %s: %v", r, err)
		}
		layers, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range layers {
			ld, _ := l.Digest()
			size, _ := l.Size()
			if i == 0 {
				digests[ld.String()] = true
			} else if !digests[ld.String()] {
				n, total = n+1, total+size
			}
		}
	}
	return n, total
}

// checkVerification fails unless v, a deployment's verification output,
// records a 200 from a cold start of version, with the REPORT line.
func checkVerification(t *testing.T, v any, version string) {
	t.Helper()
	m, _ := v.(map[string]any)
	initMs, _ := m["initDurationMs"].(float64)
	if fmt.Sprint(m["status"]) != "200" || m["version"] != version || initMs <= 0 || !strings.Contains(fmt.Sprint(m["logExcerpt"]), "REPORT RequestId:") {
		t.Fatalf("the verification of version %s: %v", version, v)
	}
}

// stepsCached finds "N of M steps cached" with N > 0 in an up's output.
var stepsCached = regexp.MustCompile(`([1-9][0-9]*) of [0-9]+ steps cached`)

// tokens are the registry passwords localaws minted, from its state.
func (ls *localStack) tokens(t *testing.T) []string {
	var state struct{ Tokens map[string]any }
	data, err := os.ReadFile(filepath.Join(ls.dir, "ecr.json"))
	if err != nil {
		t.Fatalf("localaws's ECR state: %v", err)
	}
	json.Unmarshal(data, &state)
	var out []string
	for p := range state.Tokens {
		out = append(out, p)
	}
	return out
}

// newExampleProject copies examples/python-fastapi's YAML program and
// backend into a new directory, with a stack configured for ls.
func newExampleProject(t *testing.T, ls *localStack) *project {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("cp", "-r", "../examples/python-fastapi/Pulumi.yaml", "../examples/python-fastapi/backend", dir).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	program, _ := os.ReadFile(filepath.Join(dir, "Pulumi.yaml"))
	program = append(program, fmt.Sprintf("plugins:\n  providers:\n    - name: lambdacontainer\n      path: %s\n", providerDir)...)
	if err := os.WriteFile(filepath.Join(dir, "Pulumi.yaml"), program, 0o644); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, ".state")
	os.MkdirAll(state, 0o755)
	pr := &project{t: t, dir: dir, env: append(append(os.Environ(), ls.env...),
		"PULUMI_BACKEND_URL=file://"+state, "PULUMI_HOME="+filepath.Join(dir, ".pulumi-home"), "PULUMI_CONFIG_PASSPHRASE=e2e-passphrase",
		"PULUMI_SKIP_UPDATE_CHECK=true", "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true", "NO_COLOR=1")}
	for _, args := range [][]string{
		{"stack", "init", "dev"},
		{"config", "set", "functionRole", "arn:aws:iam::123456789012:role/orders-api"},
		{"config", "set", "baseImage", ls.base},
	} {
		if out, err := pr.pulumi(args...); err != nil {
			t.Fatalf("pulumi %v: %v\n%s", args, err, out)
		}
	}
	return pr
}

func (pr *project) must(args ...string) string {
	pr.t.Helper()
	out, err := pr.pulumi(args...)
	if err != nil {
		pr.t.Fatalf("pulumi %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (pr *project) outputs() map[string]any {
	pr.t.Helper()
	out, _, err := pr.pulumiSplit("stack", "output", "--json", "--show-secrets")
	if err != nil {
		pr.t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal([]byte(out), &m)
	return m
}

func (pr *project) edit(file, old, new string) {
	pr.t.Helper()
	editFile(pr.t, filepath.Join(pr.dir, "backend", file), old, new)
}

// editFile replaces the first old in the file with new.
func editFile(t *testing.T, path, old, new string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil || !bytes.Contains(data, []byte(old)) {
		t.Fatalf("%s lacks %q: %v", path, old, err)
	}
	if err := os.WriteFile(path, bytes.Replace(data, []byte(old), []byte(new), 1), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestYAMLProgramDeploysTheFastAPIExample runs the README's flow through the
// real Pulumi CLI: up, an unchanged up, a one-file change (named by the
// preview), a broken import (refused, naming PyYAML), a broken route (rolled
// back, the alias stays), the fix, and destroy.
func TestYAMLProgramDeploysTheFastAPIExample(t *testing.T) {
	ls := newLocalStack(t)
	pr := newExampleProject(t, ls)

	out := pr.must("up", "--yes")
	t.Logf("first up:\n%s", out)
	o := pr.outputs()
	if o["version"] != "1" || !strings.Contains(fmt.Sprint(o["imageUri"]), "@sha256:") {
		t.Fatalf("outputs after the first up: %v", o)
	}
	if v, body := ls.serving(t, "orders-api"); v != "1" || !strings.Contains(body, `\"status\":\"ok\"`) {
		t.Fatalf("the alias serves version %s: %s", v, body)
	}
	checkVerification(t, o["verification"], "1")

	before := ls.writes()
	pr.must("up", "--yes", "--expect-no-changes")
	if after := ls.writes(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("an unchanged up wrote: before %v, after %v", before, after)
	}

	pr.edit("app/routers/health.py", `"status": "ok"`, `"status": "ok", "build": 2`)
	preview := pr.must("preview", "--diff")
	if !strings.Contains(preview, "app/routers/health.py") || strings.Contains(preview, "app/main.py:") {
		t.Fatalf("the preview does not name the changed file:\n%s", preview)
	}
	uploaded := ls.aws.Calls().RegistryBlobBytes
	out = pr.must("up", "--yes")
	uploaded = ls.aws.Calls().RegistryBlobBytes - uploaded
	if !stepsCached.MatchString(out) {
		t.Errorf("the second up does not report cache hits:\n%s", out)
	}
	if v, body := ls.serving(t, "orders-api"); v != "2" || !strings.Contains(body, `\"build\":2`) {
		t.Fatalf("after the change the alias serves version %s: %s", v, body)
	}
	changed := pr.outputs()
	checkVerification(t, changed["verification"], "2")
	// What was uploaded is the one changed layer, the image config and the
	// build cache's config: a few KiB beside the layer.
	n, layer := ls.addedLayerBytes(t, fmt.Sprint(o["imageUri"]), fmt.Sprint(changed["imageUri"]))
	if n != 1 || uploaded < layer || uploaded > layer+8<<10 {
		t.Fatalf("a one-file change uploaded %d blob bytes; it added %d layer(s) of %d bytes", uploaded, n, layer)
	}
	t.Logf("the one-file change uploaded %d blob bytes for a new layer of %d", uploaded, layer)

	// A missing requirement is refused before anything is built.
	pr.edit("app/main.py", "from fastapi import FastAPI", "import yaml\nfrom fastapi import FastAPI")
	before = ls.writes()
	out, err := pr.pulumi("up", "--yes")
	if err == nil || !strings.Contains(out, "PyYAML") || !strings.Contains(out, "app/main.py:2") {
		t.Fatalf("an import without its requirement: %v\n%s", err, out)
	}
	if after := ls.writes(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("the refused import wrote: before %v, after %v", before, after)
	}
	if v, _ := ls.serving(t, "orders-api"); v != "2" {
		t.Fatalf("after the refused import the alias points at version %s", v)
	}
	pr.edit("app/main.py", "import yaml\n", "")

	// A route that fails at run time: verification fails, $LATEST and the alias stay.
	pr.edit("app/routers/health.py", `return {"status": "ok"`, `1 / 0
    return {"status": "ok"`)
	out, err = pr.pulumi("up", "--yes")
	if err == nil || !strings.Contains(out, "failed verification") || !strings.Contains(out, "ZeroDivisionError") || !strings.Contains(out, "rolled back") {
		t.Fatalf("a broken route: %v\n%s", err, out)
	}
	if v, _ := ls.serving(t, "orders-api"); v != "2" {
		t.Fatalf("after the failed verification the alias points at version %s", v)
	}
	// The fix is the source version 2 was built from: its image is found by
	// its content tag, and the deployment converges without a build.
	pr.edit("app/routers/health.py", "1 / 0\n    ", "")
	before = ls.writes()
	pr.must("up", "--yes")
	if v, body := ls.serving(t, "orders-api"); v != "2" || !strings.Contains(body, `\"build\":2`) {
		t.Fatalf("after the fix the alias serves version %s: %s", v, body)
	}
	if after := ls.writes(); after["registry:PUT-blob"] != before["registry:PUT-blob"] {
		t.Fatalf("the fix rebuilt an image that was in ECR: %v -> %v", before, after)
	}
	if o := pr.outputs(); o["version"] != "2" {
		t.Fatalf("outputs after the fix: %v", o)
	}

	// The state holds no registry token and no secret.
	exported := pr.must("stack", "export")
	tokens := ls.tokens(t)
	if len(tokens) == 0 {
		t.Fatal("localaws minted no registry tokens: the scan would prove nothing")
	}
	for _, secret := range tokens {
		if strings.Contains(exported, secret) {
			t.Fatal("the state holds a registry token")
		}
	}
	if strings.Contains(strings.ToLower(exported), "password") {
		t.Fatal("the state mentions a password")
	}

	pr.must("destroy", "--yes")
	if _, err := ls.lambda().GetFunction(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String("orders-api")}); err == nil {
		t.Fatal("destroy left the function the deployment created")
	}
}

// TestGoSDK runs tests/gosdk, which deploys the Go example with the
// generated Go SDK through the Automation API, against a local stack.
func TestGoSDK(t *testing.T) {
	ls := newLocalStack(t)
	backend := filepath.Join(t.TempDir(), "backend")
	if out, err := exec.Command("cp", "-r", "../examples/python-fastapi/backend", backend).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	state := t.TempDir()
	cmd := exec.Command("go", "test", "-count=1", "-v", ".")
	cmd.Dir = "gosdk"
	cmd.Env = append(append(os.Environ(), ls.env...),
		"LAMBDACONTAINER_E2E_BACKEND="+backend, "LAMBDACONTAINER_E2E_PROVIDER_DIR="+providerDir, "LAMBDACONTAINER_E2E_BASE_IMAGE="+ls.base,
		"LAMBDACONTAINER_E2E_LOCALAWS_DIR="+ls.dir,
		"PULUMI_BACKEND_URL=file://"+state, "PULUMI_HOME="+filepath.Join(state, ".pulumi-home"), "PULUMI_CONFIG_PASSPHRASE=e2e-passphrase",
		"PULUMI_SKIP_UPDATE_CHECK=true", "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true", "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK=true")
	out, err := cmd.CombinedOutput()
	t.Logf("tests/gosdk:\n%s", out)
	if err != nil {
		t.Fatalf("the Go SDK flow failed: %v", err)
	}
}

// TestTypeScriptSDK builds the generated Node.js SDK from sdk/nodejs, packs
// it, and installs the package with npm into a copy of the TypeScript
// example, as a user would, beside @pulumi/pulumi (from npm's cache when it
// has it). The example compiles with its own tsconfig. Then tests/nodesdk
// runs the flow through the Node Automation API one step at a time, and
// this test checks the function between the steps.
func TestTypeScriptSDK(t *testing.T) {
	tsc := testenv.Tool(t, "tsc")
	node := testenv.Tool(t, "node")
	npm := testenv.Tool(t, "npm")
	real, err := filepath.EvalSymlinks(tsc)
	if err != nil {
		t.Fatal(err)
	}
	modules := real
	for filepath.Base(modules) != "node_modules" {
		if modules = filepath.Dir(modules); modules == "/" {
			t.Fatalf("tsc at %s is not inside a node_modules folder", real)
		}
	}
	work := t.TempDir()
	run := func(dir string, name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
		return string(out)
	}
	// Build the SDK as its publisher would (against the bootstrap's
	// @pulumi/pulumi and TypeScript), then pack it.
	sdk, app := filepath.Join(work, "sdk"), filepath.Join(work, "app")
	run(".", "cp", "-r", "../sdk/nodejs", sdk)
	os.Symlink(modules, filepath.Join(sdk, "node_modules"))
	run(sdk, tsc, "-p", "tsconfig.json")
	run(sdk, "cp", "package.json", "README.md", "bin/")
	run(filepath.Join(sdk, "bin"), npm, "pack", "--silent", "--pack-destination", work)
	tarball := filepath.Join(work, "lambdacontainer-pulumi-0.1.0.tgz")

	run(".", "cp", "-r", "../examples/python-fastapi/typescript", app)
	run(app, npm, "install", "--prefer-offline", "--no-audit", "--no-fund", tarball)
	if fi, err := os.Lstat(filepath.Join(app, "node_modules", "@lambdacontainer", "pulumi", "index.js")); err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("npm did not install the SDK's package: %v", err)
	}
	appTsc := filepath.Join(app, "node_modules", ".bin", "tsc")
	run(app, appTsc, "-p", "tsconfig.json") // the example: index.ts and orders.ts
	run(".", "cp", "nodesdk/run.ts", app)
	run(".", "cp", "nodesdk/tsconfig.json", filepath.Join(app, "tsconfig.e2e.json"))
	run(app, appTsc, "-p", "tsconfig.e2e.json")

	ls := newLocalStack(t)
	backend := filepath.Join(work, "backend")
	run(".", "cp", "-r", "../examples/python-fastapi/backend", backend)
	state, workDir := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(workDir, "Pulumi.yaml"), fmt.Appendf(nil,
		"name: orders-ts\nruntime: nodejs\nplugins:\n  providers:\n    - name: lambdacontainer\n      path: %s\n", providerDir), 0o644)
	env := append(append(os.Environ(), ls.env...),
		"LAMBDACONTAINER_E2E_BACKEND="+backend, "LAMBDACONTAINER_E2E_BASE_IMAGE="+ls.base,
		"LAMBDACONTAINER_E2E_WORKDIR="+workDir, "PULUMI_BACKEND_URL=file://"+state, "PULUMI_HOME="+filepath.Join(state, ".pulumi-home"),
		"PULUMI_CONFIG_PASSPHRASE=e2e-passphrase", "PULUMI_SKIP_UPDATE_CHECK=true", "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true",
		"PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK=true")
	step := func(args ...string) {
		t.Helper()
		cmd := exec.Command(node, append([]string{filepath.Join(app, "out", "run.js")}, args...)...)
		cmd.Dir, cmd.Env = app, env
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "nodesdk: "+args[0]+" passed") {
			t.Fatalf("tests/nodesdk %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		t.Logf("tests/nodesdk %s:\n%s", strings.Join(args, " "), out)
	}
	serves := func(version, body string) {
		t.Helper()
		if v, b := ls.serving(t, "orders-api"); v != version || !strings.Contains(b, body) {
			t.Fatalf("the alias serves version %s, want %s: %s", v, version, b)
		}
	}

	step("up", "1")
	serves("1", `\"status\":\"ok\"`)
	before := ls.writes()
	step("up", "1", "no-changes")
	if after := ls.writes(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("an unchanged up wrote: before %v, after %v", before, after)
	}

	health, main := filepath.Join(backend, "app", "routers", "health.py"), filepath.Join(backend, "app", "main.py")
	editFile(t, health, `"status": "ok"`, `"status": "ok", "build": 2`)
	step("preview", "app/routers/health.py")
	step("up", "2")
	serves("2", `\"build\":2`)

	editFile(t, main, "from fastapi import FastAPI", "import yaml\nfrom fastapi import FastAPI")
	before = ls.writes()
	step("refused", "PyYAML", "app/main.py")
	if after := ls.writes(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("the refused import wrote: before %v, after %v", before, after)
	}
	serves("2", `\"build\":2`)
	editFile(t, main, "import yaml\n", "")
	step("up", "2") // the fix is the source of version 2
	serves("2", `\"build\":2`)

	// The deployment created the function, so destroy deletes it, and its alias with it.
	step("destroy")
	c := ls.lambda()
	_, err = c.GetFunction(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String("orders-api")})
	if !errors.As(err, new(*lambdatypes.ResourceNotFoundException)) {
		t.Fatalf("after destroy, GetFunction says %v; want ResourceNotFoundException", err)
	}
	_, err = c.GetAlias(context.Background(), &lambda.GetAliasInput{FunctionName: aws.String("orders-api"), Name: aws.String("live")})
	if !errors.As(err, new(*lambdatypes.ResourceNotFoundException)) {
		t.Fatalf("after destroy, GetAlias says %v; want ResourceNotFoundException", err)
	}
}
