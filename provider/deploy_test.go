package provider

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/integration"
	presource "github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/property"

	"github.com/lambdacontainer/pulumi-lambdacontainer/internal/ecr"
	"github.com/lambdacontainer/pulumi-lambdacontainer/internal/testenv"
	"github.com/lambdacontainer/pulumi-lambdacontainer/localaws"
)

// deployBench is a localaws, a buildkitd and the provider's integration
// server, with a build context to deploy: whole deployments, driven as the
// engine drives them (Check, Diff, Create or Update, Read, Delete).
type deployBench struct {
	t      *testing.T
	aws    *localaws.Server
	srv    integration.Server
	dir    string // the build context: a copy of testdata/deploy
	base   string // BASE_IMAGE, the stand-in Python base in the local registry
	lambda *lambda.Client
	ecr    *awsecr.Client
	inputs property.Map // the last deployment's checked inputs
	state  property.Map // and its state; empty before the first
	// failed says the last deployment failed with a partial state, which
	// makes the engine update the resource next time, changed or not.
	failed bool
	// timeout is the resource's custom timeout for Create and Update, in seconds; 0: none.
	timeout float64
	opts    localaws.Options  // to restart localaws on its ports and state
	bk      *testenv.BuildKit // to kill buildkitd and start it again
}

func newDeployBench(t *testing.T) *deployBench {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("deployments run functions with runc and build with buildkitd: run the tests as root (CI does)")
	}
	testenv.Tool(t, "runc")
	allow, err := localaws.LoadAllowedActions("../docs/iam-policy.json") // deployments run under the documented policy
	if err != nil {
		t.Fatal(err)
	}
	// Versions stay Pending a while after they are published, as Lambda's do, so every deployment waits for one.
	opts := localaws.Options{Dir: t.TempDir(), UpdateDelay: 150 * time.Millisecond, PublishDelay: 300 * time.Millisecond, AllowActions: allow, Log: log.New(io.Discard, "", 0)}
	s, err := localaws.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.Addr, opts.RegistryAddr = strings.TrimPrefix(s.Endpoint(), "http://"), s.RegistryHost()
	bk := testenv.StartBuildkitd(t)
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": s.Endpoint(), "AWS_REGION": s.Region(), "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
		"AWS_PROFILE": "", "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
		"BUILDKIT_HOST": bk.Addr, "XDG_CACHE_HOME": t.TempDir(),
	} {
		t.Setenv(k, v)
	}
	cfg := aws.Config{Region: s.Region(), BaseEndpoint: aws.String(s.Endpoint()), Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")}
	b := &deployBench{t: t, aws: s, srv: server(t), dir: t.TempDir(), lambda: lambda.NewFromConfig(cfg), ecr: awsecr.NewFromConfig(cfg), opts: opts, bk: bk}
	t.Cleanup(func() { b.aws.Close() })
	if err := b.srv.Configure(p.ConfigureRequest{Args: property.NewMap(nil)}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"Dockerfile", "app.py", "requirements.txt"} {
		data, err := os.ReadFile(filepath.Join("testdata", "deploy", f))
		if err != nil {
			t.Fatal(err)
		}
		b.write(f, string(data))
	}
	b.base = b.pushBase()
	return b
}

// pushBase puts the stand-in Python base image into the local registry.
func (b *deployBench) pushBase() string {
	c := ecr.New(b.ecr)
	repo, err := c.Ensure(context.Background(), "lambda/python", ecr.NewRepository{})
	if err != nil {
		b.t.Fatal(err)
	}
	creds, err := c.Login(context.Background(), repo.Host)
	if err != nil {
		b.t.Fatal(err)
	}
	ref, _ := name.ParseReference(repo.URI + ":3.11")
	if err := remote.Write(ref, testenv.PythonBase(b.t), remote.WithAuth(authn.FromConfig(authn.AuthConfig{Username: creds.Username, Password: creds.Password}))); err != nil {
		b.t.Fatal(err)
	}
	return ref.String()
}

func (b *deployBench) write(file, content string) {
	if err := os.WriteFile(filepath.Join(b.dir, file), []byte(content), 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// app is app.py answering with a version marker and importing extra.
func app(version, extra string) string {
	return extra + `
import json

VERSION = "` + version + `"


def handler(event, context):
    return {"statusCode": 200, "headers": {"content-type": "application/json"},
            "body": json.dumps({"path": event.get("rawPath"), "version": VERSION})}
`
}

// args are the inputs of the deployment under test; edit changes them.
func (b *deployBench) args(edit func(map[string]property.Value)) property.Map {
	s := property.New[string]
	in := map[string]property.Value{
		"function":         s("api"),
		"functionSettings": property.New(map[string]property.Value{"role": s("arn:aws:iam::123456789012:role/api"), "memoryMb": property.New(256.0)}),
		"repository":       s("api"),
		"context":          s(b.dir),
		"buildArgs":        property.New(map[string]property.Value{"BASE_IMAGE": s(b.base)}),
		"alias":            s("live"),
		"keepVersions":     property.New(2.0),
		"verify": property.New(map[string]property.Value{
			"http":             property.New(map[string]property.Value{"path": s("/health")}),
			"expectStatus":     property.New(200.0),
			"logWindowSeconds": property.New(3.0),
		}),
	}
	if edit != nil {
		edit(in)
	}
	resp, err := b.srv.Check(p.CheckRequest{Urn: urn, Inputs: property.NewMap(in), State: b.inputs})
	if err != nil {
		b.t.Fatal(err)
	}
	if len(resp.Failures) > 0 {
		b.t.Fatalf("check failed: %+v", resp.Failures)
	}
	return resp.Inputs
}

// restartAWS stops localaws and starts it again on the same ports and state,
// as a crash and a restart would.
func (b *deployBench) restartAWS() {
	b.aws.Close()
	s, err := localaws.Start(b.opts)
	if err != nil {
		b.t.Fatalf("restarting localaws: %v", err)
	}
	b.aws = s
}

// up deploys the inputs as the engine would: Create the first time, then
// Diff and, when something changed, Update. It returns the new state.
func (b *deployBench) up(inputs property.Map) (property.Map, error) {
	return b.upWith(b.srv, inputs)
}

// upWith deploys through the server given (one whose context a test cancels).
func (b *deployBench) upWith(srv integration.Server, inputs property.Map) (property.Map, error) {
	if b.state.Len() == 0 {
		resp, err := srv.Create(p.CreateRequest{Urn: urn, Properties: inputs, Timeout: b.timeout})
		b.record(inputs, resp.Properties, err)
		return resp.Properties, err
	}
	diff, err := srv.Diff(p.DiffRequest{Urn: urn, ID: "api", State: b.state, OldInputs: b.inputs, Inputs: inputs})
	if err != nil {
		b.t.Fatal(err)
	}
	if !diff.HasChanges && !b.failed {
		return b.state, nil
	}
	resp, err := srv.Update(p.UpdateRequest{Urn: urn, ID: "api", State: b.state, OldInputs: b.inputs, Inputs: inputs, Timeout: b.timeout})
	b.record(inputs, resp.Properties, err)
	return resp.Properties, err
}

// record keeps what the engine would: the new state, or on a failure the
// partial state the provider returned (an init failure), else the old one.
func (b *deployBench) record(inputs, state property.Map, err error) {
	if err == nil || state.Len() > 0 {
		b.inputs, b.state = inputs, state
	}
	b.failed = err != nil && state.Len() > 0
}

func (b *deployBench) mustUp(inputs property.Map) property.Map {
	b.t.Helper()
	st, err := b.up(inputs)
	if err != nil {
		b.t.Fatalf("deployment failed: %v", err)
	}
	return st
}

func str(m property.Map, path ...string) string {
	v := property.New(m)
	for _, k := range path {
		if !v.IsMap() {
			return ""
		}
		v = v.AsMap().Get(k)
	}
	switch {
	case v.IsString():
		return v.AsString()
	case v.IsNumber():
		return fmt.Sprint(v.AsNumber())
	case v.IsBool():
		return fmt.Sprint(v.AsBool())
	}
	return ""
}

// function reads what the function runs now: $LATEST's digest and the alias's version.
func (b *deployBench) function() (digest, aliasVersion string) {
	out, err := b.lambda.GetFunction(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String("api")})
	if err != nil {
		b.t.Fatal(err)
	}
	_, digest, _ = strings.Cut(aws.ToString(out.Code.ResolvedImageUri), "@")
	a, err := b.lambda.GetAlias(context.Background(), &lambda.GetAliasInput{FunctionName: aws.String("api"), Name: aws.String("live")})
	if err == nil {
		aliasVersion = aws.ToString(a.FunctionVersion)
	}
	return digest, aliasVersion
}

// invokeAlias calls the function through the alias and returns the body.
func (b *deployBench) invokeAlias() string {
	payload := `{"version": "2.0", "rawPath": "/", "requestContext": {"http": {"method": "GET", "path": "/"}}}`
	out, err := b.lambda.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("api"), Qualifier: aws.String("live"), Payload: []byte(payload)})
	if err != nil {
		b.t.Fatal(err)
	}
	return string(out.Payload)
}

func (b *deployBench) calls() localaws.Calls { return b.aws.Calls() }

// clearFaults removes every fault rule from localaws.
func (b *deployBench) clearFaults() {
	req, _ := http.NewRequest(http.MethodDelete, b.aws.Endpoint()+"/_localaws/faults", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		b.t.Fatalf("clearing the faults: %v %v", err, resp)
	}
}

func (b *deployBench) fault(rule string) {
	resp, err := http.Post(b.aws.Endpoint()+"/_localaws/faults", "application/json", strings.NewReader(rule))
	if err != nil || resp.StatusCode != 200 {
		b.t.Fatalf("adding fault %s: %v %v", rule, err, resp)
	}
}

// images lists the repository's image digests with their tags.
func (b *deployBench) images() map[string][]string {
	out, err := b.ecr.DescribeImages(context.Background(), &awsecr.DescribeImagesInput{RepositoryName: aws.String("api")})
	if err != nil {
		b.t.Fatal(err)
	}
	m := map[string][]string{}
	for _, d := range out.ImageDetails {
		m[aws.ToString(d.ImageDigest)] = d.ImageTags
	}
	return m
}

func diffCalls(before, after localaws.Calls, ops ...string) map[string]int {
	out := map[string]int{}
	for _, op := range ops {
		if n := after.Calls[op] - before.Calls[op]; n != 0 {
			out[op] = n
		}
	}
	return out
}

func TestDeployVerifyPromoteUpdateAndDelete(t *testing.T) {
	b := newDeployBench(t)
	settings := func(m map[string]property.Value) {
		m["functionSettings"] = property.New(map[string]property.Value{"role": property.New("arn:aws:iam::123456789012:role/api"),
			"memoryMb": property.New(384.0), "timeoutSeconds": property.New(12.0), "architectures": property.New([]property.Value{property.New("x86_64")}),
			"environment": property.New(map[string]property.Value{"STAGE": property.New("test")})})
	}
	st := b.mustUp(b.args(settings))
	created, err := b.lambda.GetFunction(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String("api")})
	if err != nil {
		t.Fatal(err)
	}
	if c := created.Configuration; aws.ToInt32(c.MemorySize) != 384 || aws.ToInt32(c.Timeout) != 12 || c.Environment == nil || len(c.Environment.Variables) != 1 ||
		c.Environment.Variables["STAGE"] != "test" || len(c.Architectures) != 1 || c.Architectures[0] != "x86_64" ||
		aws.ToString(c.Role) != "arn:aws:iam::123456789012:role/api" || c.PackageType != "Image" {
		t.Fatalf("the function was not created with functionSettings: %+v", c)
	}
	digest1, alias := b.function()
	if st.Get("version").AsString() != "1" || alias != "1" || str(st, "imageDigest") != digest1 || !strings.HasPrefix(str(st, "imageUri"), b.aws.RegistryHost()+"/api@sha256:") ||
		str(st, "managedFunction") != "true" || str(st, "managedAlias") != "true" || str(st, "verification", "status") != "200" || str(st, "imagePlatform") != "linux/amd64" {
		t.Fatalf("first deployment: %v", st)
	}
	v := st.Get("verification").AsMap()
	if !v.Get("initDurationMs").IsNumber() || !strings.Contains(v.Get("logExcerpt").AsString(), "REPORT RequestId") || v.Get("maxMemoryUsedMb").AsNumber() <= 0 {
		t.Fatalf("verification of a cold start: %v", v)
	}
	if body := b.invokeAlias(); !strings.Contains(body, `\"version\": \"v1\"`) {
		t.Fatalf("the alias serves %s", body)
	}

	// Unchanged: no diff, so no build, push, update or publish.
	before := b.calls()
	if again := b.mustUp(b.args(settings)); !again.Equals(st) {
		t.Fatal("an unchanged source redeployed")
	}
	if d := diffCalls(before, b.calls(), "lambda:UpdateFunctionCode", "lambda:PublishVersion", "registry:PUT-manifest", "registry:PUT-blob"); len(d) > 0 {
		t.Fatalf("an unchanged source made calls: %v", d)
	}

	// One file changes: a new version, verified, and the alias moves.
	b.write("app.py", app("v2", ""))
	st = b.mustUp(b.args(settings))
	digest2, alias := b.function()
	if digest2 == digest1 || alias != "2" || str(st, "version") != "2" || str(st, "previousVersion") != "1" ||
		str(st, "previousImageUri") != b.aws.RegistryHost()+"/api@"+digest1 || st.Get("verification").AsMap().Get("initDurationMs").IsNumber() == false {
		t.Fatalf("the update: %v (function on %s, alias %s)", st, digest2, alias)
	}
	if body := b.invokeAlias(); !strings.Contains(body, `\"version\": \"v2\"`) {
		t.Fatalf("the alias serves %s", body)
	}

	// A third version: keepVersions 2 prunes version 1 and its image.
	b.write("app.py", app("v3", ""))
	st = b.mustUp(b.args(settings))
	versions, _ := b.lambda.ListVersionsByFunction(context.Background(), &lambda.ListVersionsByFunctionInput{FunctionName: aws.String("api")})
	var numbers []string
	for _, v := range versions.Versions {
		numbers = append(numbers, aws.ToString(v.Version))
	}
	images := b.images()
	if strings.Join(numbers, ",") != "$LATEST,2,3" || images[digest1] != nil || images[digest2] == nil || images[str(st, "imageDigest")] == nil {
		t.Fatalf("after the third deployment: versions %v, images %v", numbers, images)
	}
	if b.tagged(ecr.CacheTag) == "" {
		t.Fatalf("prune deleted the build cache: %v", images)
	}

	// Delete: the function this resource created goes, and so do its images; the build cache stays.
	if err := b.srv.Delete(p.DeleteRequest{Urn: urn, ID: "api", Properties: b.state}); err != nil {
		t.Fatal(err)
	}
	b.nothingLeft("Delete")
}

func TestFailedVerificationRollsBackAndNamesTheDistribution(t *testing.T) {
	b := newDeployBench(t)
	b.mustUp(b.args(nil))
	good, _ := b.function()

	b.write("app.py", app("v2", "import yaml\n"))
	broken := b.args(func(m map[string]property.Value) { m["analysis"] = property.New("warn") }) // let it through to the function
	st, err := b.up(broken)
	if err == nil || !strings.Contains(err.Error(), "PyYAML") || !strings.Contains(err.Error(), "No module named 'yaml'") || !strings.Contains(err.Error(), "rolled back") {
		t.Fatalf("a missing requirement: %v", err)
	}
	digest, alias := b.function()
	if digest != good || alias != "1" {
		t.Fatalf("after the failed verification the function runs %s (want %s) and the alias points at %s", digest, good, alias)
	}
	if str(st, "version") != "1" || str(st, "imageDigest") != good || !strings.Contains(str(st, "lastFailure", "message"), "PyYAML") || str(st, "lastFailure", "step") != "verify" {
		t.Fatalf("the state after the failure: %v", st)
	}

	b.write("requirements.txt", "typing_extensions\nPyYAML\n")
	st = b.mustUp(b.args(func(m map[string]property.Value) { m["analysis"] = property.New("warn") }))
	if digest, alias := b.function(); digest == good || alias != str(st, "version") || st.Get("lastFailure").IsNull() == false && str(st, "lastFailure", "step") != "" {
		t.Fatalf("the fixed deployment: %v (function %s, alias %s)", st, digest, alias)
	}
}

func TestWrongArchitectureIsCaughtBeforeTheFunctionIsTouched(t *testing.T) {
	b := newDeployBench(t)
	b.mustUp(b.args(nil))
	before := b.calls()
	b.write("app.py", app("v2", ""))
	_, err := b.up(b.args(func(m map[string]property.Value) { m["platform"] = property.New("linux/arm64") }))
	if err == nil || !strings.Contains(err.Error(), "disagrees with the function's architecture x86_64") || !strings.Contains(err.Error(), "exec format error") {
		t.Fatalf("an arm64 platform on an x86_64 function: %v", err)
	}
	if d := diffCalls(before, b.calls(), "lambda:UpdateFunctionCode", "lambda:PublishVersion", "registry:PUT-manifest"); len(d) > 0 {
		t.Fatalf("the function or the registry was touched: %v", d)
	}
}

func TestFaultsAreSurvivedOrExplained(t *testing.T) {
	b := newDeployBench(t)
	b.mustUp(b.args(nil))
	good, _ := b.function()

	// Conflicts and throttling are retried.
	b.fault(`{"service": "lambda", "operation": "UpdateFunctionCode", "errorType": "ResourceConflictException", "status": 409, "count": 2,
		"message": "The operation cannot be performed at this time. An update is in progress for resource: api"}`)
	b.fault(`{"service": "lambda", "operation": "PublishVersion", "errorType": "TooManyRequestsException", "status": 429, "count": 2}`)
	// The registry refuses the token once mid-push: a new one is minted.
	b.fault(`{"service": "registry", "operation": "PUT-manifest", "errorType": "DENIED", "status": 401, "count": 1,
		"message": "Your authorization token has expired. Reauthenticate and try again."}`)
	b.write("app.py", app("v2", ""))
	st := b.mustUp(b.args(nil))
	if _, alias := b.function(); alias != "2" || str(st, "version") != "2" {
		t.Fatalf("after retried faults: %v", st)
	}

	// An update that ends Failed stops at once with the reason and the fix.
	b.fault(`{"service": "lambda", "operation": "UpdateFunctionCode", "failUpdate": "ImageAccessDenied", "count": 1,
		"message": "Lambda does not have permission to access the ECR image. Check the ECR permissions."}`)
	b.write("app.py", app("v3", ""))
	_, err := b.up(b.args(nil))
	if err == nil || !strings.Contains(err.Error(), "ImageAccessDenied") || !strings.Contains(err.Error(), "lambda.amazonaws.com") {
		t.Fatalf("a failed update: %v", err)
	}
	if digest, alias := b.function(); digest == good || alias != "2" {
		t.Fatalf("after the failed update the function runs %s with the alias on %s", digest, alias)
	}
	st = b.mustUp(b.args(nil)) // the retry converges
	if _, alias := b.function(); alias != str(st, "version") || str(st, "version") == "2" {
		t.Fatalf("the retry after a failed update: %v", st)
	}
}

func TestReadDetectsDrift(t *testing.T) {
	b := newDeployBench(t)
	st := b.mustUp(b.args(nil))
	b.write("app.py", app("v2", ""))
	other := b.mustUp(b.args(nil))
	// Out of band: $LATEST back to the first image.
	if _, err := b.lambda.UpdateFunctionCode(context.Background(), &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("api"),
		ImageUri: aws.String(str(st, "imageUri"))}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	resp, err := b.srv.Read(p.ReadRequest{Urn: urn, ID: "api", Properties: other, Inputs: b.inputs})
	if err != nil {
		t.Fatal(err)
	}
	if str(resp.Properties, "imageDigest") != str(st, "imageDigest") || !strings.HasPrefix(str(resp.Inputs, "sourceHash"), "drifted: ") {
		t.Fatalf("Read after drift: %v / %v", resp.Properties, resp.Inputs)
	}
	diff, err := b.srv.Diff(p.DiffRequest{Urn: urn, ID: "api", State: resp.Properties, OldInputs: resp.Inputs, Inputs: b.args(nil)})
	if err != nil || !diff.HasChanges || diff.DetailedDiff["sourceHash"].Kind != p.Update {
		t.Fatalf("the preview after drift: %+v %v", diff, err)
	}
	// Back where the state says: no drift.
	if _, err := b.lambda.UpdateFunctionCode(context.Background(), &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("api"),
		ImageUri: aws.String(str(other, "imageUri"))}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if resp, err := b.srv.Read(p.ReadRequest{Urn: urn, ID: "api", Properties: b.state, Inputs: b.inputs}); err != nil ||
		str(resp.Inputs, "sourceHash") != str(b.inputs, "sourceHash") || !resp.Properties.Equals(b.state) {
		t.Fatalf("Read of a function that did not drift: %v %v", err, resp.Inputs)
	}
}

func TestFunctionFromStackOutputs(t *testing.T) {
	b := newDeployBench(t)
	b.mustUp(b.args(nil)) // creates the function "api"
	req, _ := http.NewRequest(http.MethodPut, b.aws.Endpoint()+"/_localaws/stacks/orders", strings.NewReader(`{"outputs": {"ApiFunction": "api"}}`))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("declaring the stack: %v %v", err, resp)
	}
	fromStack := func(key string) func(m map[string]property.Value) {
		return func(m map[string]property.Value) {
			delete(m, "function")
			delete(m, "functionSettings")
			m["functionFromStack"] = property.New(map[string]property.Value{"stackName": property.New("orders"), "outputKey": property.New(key)})
		}
	}
	b.state, b.inputs = property.Map{}, property.Map{} // a second resource adopting the function
	b.write("app.py", app("v2", ""))
	if _, err := b.up(b.args(fromStack("Missing"))); err == nil || !strings.Contains(err.Error(), `stack "orders" has no output "Missing"`) ||
		!strings.Contains(err.Error(), "ApiFunction") {
		t.Fatalf("a missing output key: %v", err)
	}
	b.state, b.inputs = property.Map{}, property.Map{}
	st := b.mustUp(b.args(fromStack("ApiFunction")))
	if _, alias := b.function(); alias != str(st, "version") || str(st, "managedFunction") != "false" {
		t.Fatalf("a deployment to a function from stack outputs: %v", st)
	}
}

// TestConcurrentDeployments runs 10 deployments at once through one
// provider, as the engine does for 10 resources in a stack: 10 functions,
// two of them sharing a repository, in two rounds (creates, then updates
// with keepVersions 1, so that every deployment prunes). Each must end
// serving its own code, having minted exactly one registry token of its own
// and opened one BuildKit session per build, and no deployment's prune may
// delete another's images in the shared repository; `make test` runs it
// with the race detector.
func TestConcurrentDeployments(t *testing.T) {
	b := newDeployBench(t)
	const n = 10
	type deployment struct {
		name, dir string
		in, st    property.Map
	}
	deployments := make([]*deployment, n)
	for i := range n {
		d := &deployment{name: fmt.Sprintf("fn%d", i), dir: t.TempDir()}
		os.WriteFile(filepath.Join(d.dir, "Dockerfile"), []byte("ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY app.py ${LAMBDA_TASK_ROOT}/\nCMD [\"app.handler\"]\n"), 0o644)
		deployments[i] = d
	}
	for round, marker := range []string{"r1", "r2"} {
		before, sessions := b.calls(), b.bk.Sessions()
		errs := make(chan error, n)
		for i, d := range deployments {
			os.WriteFile(filepath.Join(d.dir, "app.py"), []byte(app(d.name+"-"+marker, "")), 0o644)
			repo := d.name
			if i < 2 {
				repo = "shared" // fn0 and fn1 share one repository
			}
			in := b.args(func(m map[string]property.Value) {
				m["function"], m["repository"], m["context"] = property.New(d.name), property.New(repo), property.New(d.dir)
				m["keepVersions"] = property.New(1.0)
			})
			du := presource.URN(strings.Replace(string(urn), "::api", "::"+d.name, 1))
			go func() {
				var err error
				if d.st.Len() == 0 {
					var resp p.CreateResponse
					resp, err = b.srv.Create(p.CreateRequest{Urn: du, Properties: in})
					d.st = resp.Properties
				} else {
					var resp p.UpdateResponse
					resp, err = b.srv.Update(p.UpdateRequest{Urn: du, ID: d.name, State: d.st, OldInputs: d.in, Inputs: in})
					d.st = resp.Properties
				}
				d.in = in
				if err != nil {
					err = fmt.Errorf("%s, round %d: %w", d.name, round+1, err)
				}
				errs <- err
			}()
		}
		for range n {
			if err := <-errs; err != nil {
				t.Error(err)
			}
		}
		if t.Failed() {
			t.FailNow()
		}
		for _, d := range deployments {
			out, err := b.lambda.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String(d.name), Qualifier: aws.String("live"),
				Payload: []byte(`{"rawPath": "/"}`)})
			if err != nil || out.FunctionError != nil || !strings.Contains(string(out.Payload), `\"version\": \"`+d.name+"-"+marker+`\"`) {
				t.Errorf("round %d: %s serves %s (%v)", round+1, d.name, out.Payload, err)
			}
		}
		if got := b.calls().Calls["ecr:GetAuthorizationToken"] - before.Calls["ecr:GetAuthorizationToken"]; got != n {
			t.Errorf("round %d: %d deployments minted %d registry tokens; each mints exactly one of its own", round+1, n, got)
		}
		if got := b.bk.Sessions() - sessions; got != n {
			t.Errorf("round %d: %d builds opened %d BuildKit sessions; want one session per build", round+1, n, got)
		}
		// The shared repository holds exactly the image each of fn0 and fn1 runs, each with one reference tag.
		out, err := b.ecr.DescribeImages(context.Background(), &awsecr.DescribeImagesInput{RepositoryName: aws.String("shared")})
		if err != nil {
			t.Fatal(err)
		}
		refs, images := 0, map[string]bool{}
		for _, im := range out.ImageDetails {
			for _, tag := range im.ImageTags {
				if strings.HasPrefix(tag, ecr.RefTagPrefix) {
					refs++
					images[aws.ToString(im.ImageDigest)] = true
				}
			}
		}
		for _, d := range deployments[:2] {
			if !images[str(d.st, "imageDigest")] {
				t.Errorf("round %d: the shared repository lost %s's image %s (it holds %v)", round+1, d.name, str(d.st, "imageDigest"), images)
			}
		}
		if refs != 2 || len(images) != 2 {
			t.Errorf("round %d: the shared repository holds %d reference tags on %d images, want one per function: %v", round+1, refs, len(images), images)
		}
	}
}
