package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi/sdk/v3/go/property"

	"github.com/lambdacontainer/pulumi-lambdacontainer/internal/ecr"
)

// A first deployment that fails after side effects (the image pushed, the
// function maybe created) returns what it reached as the partial state of an
// init failure; a rerun converges, and a destroy leaves nothing of it behind:
// no function, no alias, no image (the build cache stays).
func TestFailedFirstDeploymentsLeaveNothingBehind(t *testing.T) {
	b := newDeployBench(t)
	for _, c := range []struct {
		name, step, cause string
		created           bool // the function was created before the failure
		inject            func()
	}{
		{"CreateFunction refused", "roll", "cannot be assumed by Lambda", false, func() {
			b.fault(`{"service": "lambda", "operation": "CreateFunction", "errorType": "InvalidParameterValueException", "status": 400, "count": 1,
				"message": "The role defined for the function cannot be assumed by Lambda."}`)
		}},
		{"the new version failing verification", "verify", "broken on purpose", true, func() { b.write("app.py", brokenApp("first")) }},
	} {
		for _, rerun := range []bool{false, true} {
			b.write("app.py", app("first", ""))
			c.inject()
			in := b.args(nil)
			resp, err := b.srv.Create(p.CreateRequest{Urn: urn, Properties: in})
			b.record(in, resp.Properties, err)
			st := resp.Properties
			image := str(st, "imageUri")
			switch {
			case err == nil || !strings.HasPrefix(err.Error(), c.step+": ") || !strings.Contains(err.Error(), c.cause):
				t.Fatalf("%s: the error %v does not name the step %s and the cause %q", c.name, err, c.step, c.cause)
			case !errors.As(err, new(infer.ResourceInitFailedError)) || resp.PartialState == nil:
				t.Fatalf("%s: not an init failure with a partial state: %v", c.name, err)
			case !strings.HasPrefix(image, b.aws.RegistryHost()+"/api@sha256:") || str(st, "lastFailure", "imageUri") != image ||
				str(st, "lastFailure", "step") != c.step || !strings.Contains(str(st, "lastFailure", "message"), c.cause) || str(st, "version") != "":
				t.Fatalf("%s: the partial state: %v", c.name, st)
			case (str(st, "managedFunction") == "true") != c.created || (str(st, "functionArn") != "") != c.created:
				t.Fatalf("%s: the partial state says managedFunction %s, functionArn %q", c.name, str(st, "managedFunction"), str(st, "functionArn"))
			}
			if c.created {
				if str(st, "lastFailure", "version") != "1" || !strings.Contains(err.Error(), "the failed version 1 was deleted") {
					t.Fatalf("%s: the failed version: %v / %v", c.name, st, err)
				}
				if got := b.versions("api"); got != "$LATEST" {
					t.Fatalf("%s: the failed version was not deleted: %s", c.name, got)
				}
			}
			if _, digest, _ := strings.Cut(image, "@"); b.images()[digest] == nil {
				t.Fatalf("%s: the pushed image %s is not in the repository", c.name, image)
			}
			b.clearFaults()
			if rerun {
				b.write("app.py", app("first", ""))
				st = b.mustUp(b.args(nil))
				if body := b.invokeAlias(); !strings.Contains(body, "first") || !st.Get("lastFailure").IsNull() {
					t.Fatalf("%s: the rerun did not converge: %s, %v", c.name, body, st)
				}
			}
			if err := b.srv.Delete(p.DeleteRequest{Urn: urn, ID: "api", Properties: b.state}); err != nil {
				t.Fatalf("%s: destroy: %v", c.name, err)
			}
			b.state, b.inputs, b.failed = property.Map{}, property.Map{}, false
			b.nothingLeft(c.name)
		}
	}
}

// versions lists a function's versions, "$LATEST,1,2".
func (b *deployBench) versions(function string) string {
	out, err := b.lambda.ListVersionsByFunction(context.Background(), &lambda.ListVersionsByFunctionInput{FunctionName: aws.String(function)})
	if err != nil {
		b.t.Fatal(err)
	}
	var numbers []string
	for _, v := range out.Versions {
		numbers = append(numbers, aws.ToString(v.Version))
	}
	return strings.Join(numbers, ",")
}

// nothingLeft checks that no function "api", no alias of it and no image
// the deployment pushed remain; the build cache does.
func (b *deployBench) nothingLeft(what string) {
	b.t.Helper()
	if _, err := b.lambda.GetFunction(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String("api")}); err == nil {
		b.t.Fatalf("%s: the function survived destroy", what)
	}
	if _, err := b.lambda.GetAlias(context.Background(), &lambda.GetAliasInput{FunctionName: aws.String("api"), Name: aws.String("live")}); err == nil {
		b.t.Fatalf("%s: the alias survived destroy", what)
	}
	cache := false
	for digest, tags := range b.images() {
		for _, tag := range tags {
			cache = cache || tag == ecr.CacheTag
			if strings.HasPrefix(tag, "src-") || strings.HasPrefix(tag, ecr.RefTagPrefix) {
				b.t.Fatalf("%s: image %s %v survived destroy", what, digest, tags)
			}
		}
	}
	if !cache {
		b.t.Fatalf("%s: destroy deleted the build cache (%s)", what, ecr.CacheTag)
	}
}

// Throttling and conflicts are retried for as long as the resource's custom
// timeout allows: a burst longer than the timeout fails naming the step and
// the timeout, and one that outlasts the SDK's usual attempts but ends
// within the timeout is survived.
func TestRetriesLastUntilTheCustomTimeout(t *testing.T) {
	b := newDeployBench(t)
	b.write("app.py", app("v1", ""))
	b.mustUp(b.args(nil))

	b.timeout = 30
	b.fault(`{"service": "lambda", "operation": "UpdateFunctionCode", "errorType": "TooManyRequestsException", "status": 429, "count": 100000}`)
	b.write("app.py", app("v2", ""))
	_, err := b.up(b.args(nil))
	if err == nil || !strings.HasPrefix(err.Error(), "roll: timed out: the resource's custom timeout (30s) passed") ||
		!strings.Contains(err.Error(), "TooManyRequestsException") || !strings.Contains(err.Error(), "Fix: raise customTimeouts") {
		t.Fatalf("endless throttling under a 30 s timeout: %v", err)
	}
	if body := b.invokeAlias(); !strings.Contains(body, "v1") {
		t.Fatalf("after the timeout the alias serves %s", body)
	}

	b.clearFaults()
	const conflicts = 13 // more than the 12 attempts the SDK would have made
	b.fault(fmt.Sprintf(`{"service": "lambda", "operation": "UpdateFunctionCode", "errorType": "ResourceConflictException", "status": 409, "count": %d,
		"message": "The operation cannot be performed at this time. An update is in progress for resource: api"}`, conflicts))
	b.timeout = 600
	b.mustUp(b.args(nil))
	if body := b.invokeAlias(); !strings.Contains(body, "v2") {
		t.Fatalf("after %d conflicts the alias serves %s", conflicts, body)
	}
	if f := b.aws.Faults(); len(f) != 1 || f[0].Fired != conflicts {
		t.Fatalf("the conflicts fired: %+v", f)
	}
}

// The roll updates the code by digest, guarded by the RevisionId the
// function was read with. An out-of-band change between that read and the
// update is refused with a clear error, and left standing: the rollback
// does not overwrite it, the alias stays, and the next up converges.
func TestOutOfBandChangeMidRollIsNotOverwritten(t *testing.T) {
	b := newDeployBench(t)
	b.write("app.py", app("v1", ""))
	v1 := b.mustUp(b.args(nil))
	b.write("app.py", app("v2", ""))
	v2 := b.mustUp(b.args(nil))
	sent := b.aws.Requests("lambda:UpdateFunctionCode")
	var req struct{ ImageUri, RevisionId string }
	if len(sent) != 1 || json.Unmarshal(sent[0], &req) != nil || req.ImageUri != str(v2, "imageUri") || !strings.Contains(req.ImageUri, "/api@sha256:") || req.RevisionId == "" {
		t.Fatalf("the roll's UpdateFunctionCode: %s (want ImageUri %s and a RevisionId)", sent, str(v2, "imageUri"))
	}

	// The provider's UpdateFunctionCode is held for 2 s; meanwhile someone points the function back at v1's image.
	b.fault(`{"service": "lambda", "operation": "UpdateFunctionCode", "latencyMs": 2000, "count": 1}`)
	outOfBand := make(chan error, 1)
	go func() {
		before := b.calls().Calls["lambda:UpdateFunctionCode"]
		for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if b.calls().Calls["lambda:UpdateFunctionCode"] > before {
				_, err := b.lambda.UpdateFunctionCode(context.Background(), &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("api"), ImageUri: aws.String(str(v1, "imageUri"))})
				outOfBand <- err
				return
			}
		}
		outOfBand <- errors.New("the deployment never called UpdateFunctionCode")
	}()
	b.write("app.py", app("v3", ""))
	_, err := b.up(b.args(nil))
	if oob := <-outOfBand; oob != nil {
		t.Fatal(oob)
	}
	if err == nil || !strings.HasPrefix(err.Error(), "roll: function api changed while this deployment was updating it (its RevisionId moved)") ||
		!strings.Contains(err.Error(), "Fix: run pulumi up again once the other change is done") || !strings.Contains(err.Error(), "put there by another change meanwhile") {
		t.Fatalf("an out-of-band change mid-roll: %v", err)
	}
	if digest, alias := b.function(); digest != str(v1, "imageDigest") || alias != str(v2, "version") {
		t.Fatalf("the out-of-band change was overwritten, or the alias moved: $LATEST on %s, alias on %s", digest, alias)
	}
	b.mustUp(b.args(nil))
	if body := b.invokeAlias(); !strings.Contains(body, "v3") {
		t.Fatalf("the next up did not converge: %s", body)
	}
}

// The log scan catches a bare ERROR line (Python's logging as basicConfig
// sets it up, ERROR:root:...), also when a thread the handler started and
// waited for logged it.
func TestLogScanCatchesBareErrors(t *testing.T) {
	b := newDeployBench(t)
	b.mustUp(b.args(nil))
	good, _ := b.function()
	for _, c := range []struct{ logged, code string }{
		{"ERROR:root:boom", app("v2", "import logging\n\nlogging.basicConfig()\n") + `

_answer = handler


def handler(event, context):
    logging.error("boom")
    return _answer(event, context)
`},
		{"ERROR:root:boom in a thread", app("v3", "import logging\nimport threading\nimport time\n\nlogging.basicConfig()\n") + `

_answer = handler


def _work():
    time.sleep(0.3)
    logging.error("boom in a thread")


def handler(event, context):
    worker = threading.Thread(target=_work)
    worker.start()
    worker.join()
    return _answer(event, context)
`},
	} {
		b.write("app.py", c.code)
		_, err := b.up(b.args(nil))
		if err == nil || !strings.Contains(err.Error(), "the function logged errors: "+c.logged) || !strings.Contains(err.Error(), "rolled back") {
			t.Fatalf("a version that logs %q: %v", c.logged, err)
		}
		if digest, alias := b.function(); digest != good || alias != "1" {
			t.Fatalf("after %q the function runs %s and the alias is on %s", c.logged, digest, alias)
		}
	}
}

// A function created for arm64 gets an image built for arm64, and is
// created with that architecture. This x86_64 host cannot run arm64 code, so
// the verification fails there with exec format error, as Lambda's would
// for an image of the other architecture: what this checks is the build and
// the create, and that the destroy after such a failure leaves nothing.
func TestArm64FunctionIsCreatedWithAnArm64Image(t *testing.T) {
	b := newDeployBench(t)
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	build := exec.Command("go", "build", "-o", filepath.Join(b.dir, "bootstrap"), "main.go")
	build.Dir, build.Env = src, append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building an arm64 binary: %v\n%s", err, out)
	}
	b.write("Dockerfile", "FROM scratch\nCOPY bootstrap /bootstrap\nENTRYPOINT [\"/bootstrap\"]\n")
	in := b.args(func(m map[string]property.Value) {
		m["analysis"] = property.New("off")
		m["functionSettings"] = property.New(map[string]property.Value{"role": property.New("arn:aws:iam::123456789012:role/api"),
			"architectures": property.New([]property.Value{property.New("arm64")})})
	})
	st, err := b.up(in)
	if err != nil && !strings.Contains(err.Error(), "exec format error") {
		t.Fatalf("an arm64 deployment failed other than for this host's architecture: %v", err)
	}
	if str(st, "imagePlatform") != "linux/arm64" || str(st, "managedFunction") != "true" {
		t.Fatalf("the arm64 deployment's state: %v", st)
	}
	fn, ferr := b.lambda.GetFunction(context.Background(), &lambda.GetFunctionInput{FunctionName: aws.String("api")})
	if ferr != nil || len(fn.Configuration.Architectures) != 1 || fn.Configuration.Architectures[0] != "arm64" {
		t.Fatalf("the function: %v %+v", ferr, fn)
	}
	if err := b.srv.Delete(p.DeleteRequest{Urn: urn, ID: "api", Properties: b.state}); err != nil {
		t.Fatal(err)
	}
	b.nothingLeft("arm64")
}

// Failures the diagnosis catalogue explains reach the user with the fix,
// end to end: an ASGI app given to Lambda unwrapped, and an image Lambda
// rejects (InvalidImage).
func TestDiagnosesReachTheError(t *testing.T) {
	b := newDeployBench(t)
	b.mustUp(b.args(nil))
	b.write("app.py", `
class App:
    async def __call__(self, scope, receive, send):
        pass


handler = App()
`)
	_, err := b.up(b.args(nil))
	if err == nil || !strings.Contains(err.Error(), "App.__call__() missing 1 required positional argument: 'send'") ||
		!strings.Contains(err.Error(), "Fix: wrap the app: `from mangum import Mangum`") {
		t.Fatalf("an unwrapped ASGI app: %v", err)
	}

	b.fault(`{"service": "lambda", "operation": "UpdateFunctionCode", "failUpdate": "InvalidImage", "count": 1,
		"message": "The image manifest, config or layer media type for the source image is not supported."}`)
	b.write("app.py", app("v3", ""))
	_, err = b.up(b.args(nil))
	if err == nil || !strings.HasPrefix(err.Error(), "roll: ") || !strings.Contains(err.Error(), "InvalidImage") ||
		!strings.Contains(err.Error(), "Fix: build one platform with no provenance or SBOM attestations") {
		t.Fatalf("an image Lambda rejects: %v", err)
	}
	if _, alias := b.function(); alias != "1" {
		t.Fatalf("the alias moved to %s", alias)
	}
}
