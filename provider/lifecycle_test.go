package provider

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi/sdk/v3/go/property"

	"github.com/lambdacontainer/pulumi-lambdacontainer/internal/testenv"
)

// loggingApp answers 200 but logs an error line first.
func loggingApp(version string) string {
	return app(version, "") + `

_answer = handler


def handler(event, context):
    print("[ERROR] the cache is unreachable")
    return _answer(event, context)
`
}

// TestLogErrorsRollbackOffAndImageTags covers the verification's log scan
// (failOnLogErrors on and off), rollback: false, and imageTags, which only
// ever name a verified image.
func TestLogErrorsRollbackOffAndImageTags(t *testing.T) {
	b := newDeployBench(t)
	tags := func(m map[string]property.Value) {
		m["imageTags"] = property.New([]property.Value{property.New("latest"), property.New("stable")})
	}
	// A lazy import of a module nothing installs is a warning: it deploys, and the findings output names it.
	b.write("app.py", app("v1", "")+"\n\ndef export():\n    import yaml\n    return yaml\n")
	st := b.mustUp(b.args(tags))
	if f := st.Get("findings"); !f.IsArray() || f.AsArray().Len() != 1 || !strings.Contains(fmt.Sprint(f), "warning") || !strings.Contains(fmt.Sprint(f), "PyYAML") {
		t.Fatalf("the findings output: %v", f)
	}
	first := str(st, "imageDigest")
	if got := b.tagged("latest"); got != first {
		t.Fatalf("latest names %q, want the deployed %s", got, first)
	}

	// The response passes but the function logged an error: the version fails, $LATEST goes back.
	b.write("app.py", loggingApp("v2"))
	_, err := b.up(b.args(tags))
	if err == nil || !strings.Contains(err.Error(), "the function logged errors: [ERROR] the cache is unreachable") || !strings.Contains(err.Error(), "rolled back") {
		t.Fatalf("a version that logs errors: %v", err)
	}
	if digest, alias := b.function(); digest != first || alias != "1" {
		t.Fatalf("after the failed verification the function runs %s, the alias %s", digest, alias)
	}
	if got := b.tagged("latest"); got != first {
		t.Fatalf("latest moved to an image that failed verification: %s", got)
	}

	// failOnLogErrors: false lets it through, and the tags follow.
	quiet := func(m map[string]property.Value) {
		tags(m)
		v := m["verify"].AsMap().AsMap()
		v["failOnLogErrors"] = property.New(false)
		m["verify"] = property.New(v)
	}
	st = b.mustUp(b.args(quiet))
	if errs := st.Get("verification").AsMap().Get("logErrors"); !errs.IsArray() || errs.AsArray().Len() == 0 {
		t.Fatalf("the errors logged are not recorded: %v", st.Get("verification"))
	}
	second := str(st, "imageDigest")
	if got := b.tagged("latest"); got != second || b.tagged("stable") != second {
		t.Fatalf("the tags did not move to the verified image %s: latest %s", second, b.tagged("latest"))
	}

	// rollback: false keeps the failed code on $LATEST, but never moves the alias.
	b.write("app.py", brokenApp("v4"))
	_, err = b.up(b.args(func(m map[string]property.Value) { quiet(m); m["rollback"] = property.New(false) }))
	if err == nil || !strings.Contains(err.Error(), "rollback is off: $LATEST keeps running") {
		t.Fatalf("a failed verification with rollback off: %v", err)
	}
	if digest, alias := b.function(); digest == second || alias != str(st, "version") {
		t.Fatalf("with rollback off $LATEST must keep the new code (runs %s) and the alias stay on %s (is on %s)", digest, str(st, "version"), alias)
	}
}

// tagged is the digest a tag names in the repository "api", or "".
func (b *deployBench) tagged(tag string) string {
	for digest, tags := range b.images() {
		if slices.Contains(tags, tag) {
			return digest
		}
	}
	return ""
}

// An immutable repository where a wanted tag names another image refuses the
// deployment before the function is touched.
func TestImmutableImageTagsAreRefusedBeforeTheFunctionIsTouched(t *testing.T) {
	b := newDeployBench(t)
	if _, err := b.ecr.CreateRepository(context.Background(), &awsecr.CreateRepositoryInput{RepositoryName: aws.String("api"),
		ImageTagMutability: ecrtypes.ImageTagMutabilityImmutable}); err != nil {
		t.Fatal(err)
	}
	release := func(m map[string]property.Value) {
		m["imageTags"] = property.New([]property.Value{property.New("release")})
	}
	b.mustUp(b.args(release))
	before := b.calls()
	b.write("app.py", app("v2", ""))
	_, err := b.up(b.args(release))
	if err == nil || !strings.Contains(err.Error(), `imageTags: "release" already names`) || !strings.Contains(err.Error(), "fix:") {
		t.Fatalf("an immutable tag on another image: %v", err)
	}
	if d := diffCalls(before, b.calls(), "lambda:UpdateFunctionCode", "lambda:PublishVersion"); len(d) > 0 {
		t.Fatalf("the function was touched: %v", d)
	}
}

// Drift of the alias, a missing function or stack, and the release of an
// adopted function whose alias this resource created.
func TestAliasDriftMissingTargetsAndAdoptedRelease(t *testing.T) {
	b := newDeployBench(t)
	b.mustUp(b.args(nil))
	b.write("app.py", app("v2", ""))
	st := b.mustUp(b.args(nil))
	if _, err := b.lambda.UpdateAlias(context.Background(), &lambda.UpdateAliasInput{FunctionName: aws.String("api"), Name: aws.String("live"),
		FunctionVersion: aws.String("1")}); err != nil {
		t.Fatal(err)
	}
	resp, err := b.srv.Read(p.ReadRequest{Urn: urn, ID: "api", Properties: st, Inputs: b.inputs})
	if err != nil || !strings.Contains(str(resp.Inputs, "sourceHash"), "alias live points at version \"1\", not 2") || str(resp.Properties, "version") != "1" {
		t.Fatalf("Read after the alias moved: %v %v", err, resp.Inputs)
	}

	// A function that does not exist, without functionSettings to create it.
	b.state, b.inputs = property.Map{}, property.Map{}
	_, err = b.up(b.args(func(m map[string]property.Value) { m["function"] = property.New("nope"); delete(m, "functionSettings") }))
	if err == nil || !strings.Contains(err.Error(), "nope") || !strings.Contains(err.Error(), "set functionSettings") {
		t.Fatalf("a missing function: %v", err)
	}
	fromStack := func(m map[string]property.Value) {
		delete(m, "function")
		delete(m, "functionSettings")
		m["functionFromStack"] = property.New(map[string]property.Value{"stackName": property.New("nostack"), "outputKey": property.New("Fn")})
	}
	if _, err = b.up(b.args(fromStack)); err == nil || !strings.Contains(err.Error(), `"nostack"`) {
		t.Fatalf("a missing stack: %v", err)
	}

	// An adopted function (this resource did not create it) with an alias it creates.
	adopt := func(m map[string]property.Value) { delete(m, "functionSettings"); m["alias"] = property.New("canary") }
	adopted := b.mustUp(b.args(adopt))
	if str(adopted, "managedFunction") != "false" || str(adopted, "managedAlias") != "true" {
		t.Fatalf("an adopted function with a new alias: %v", adopted)
	}
	if err := b.srv.Delete(p.DeleteRequest{Urn: urn, ID: "api", Properties: adopted}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.lambda.GetAlias(context.Background(), &lambda.GetAliasInput{FunctionName: aws.String("api"), Name: aws.String("canary")}); err == nil {
		t.Fatal("the alias this resource created survived Delete")
	}
	if _, err := b.lambda.GetAlias(context.Background(), &lambda.GetAliasInput{FunctionName: aws.String("api"), Name: aws.String("live")}); err != nil {
		t.Fatalf("Delete removed an alias it did not create: %v", err)
	}
	time.Sleep(200 * time.Millisecond)
	if body := b.invokeAlias(); !strings.Contains(body, "version") { // live still serves: its image was kept
		t.Fatalf("the function no longer serves through live: %s", body)
	}
	if out, err := b.lambda.Invoke(context.Background(), &lambda.InvokeInput{FunctionName: aws.String("api")}); err != nil || out.FunctionError != nil {
		t.Fatalf("$LATEST no longer runs after Delete released images: %v", err)
	}
}

// cache: false neither reads nor writes the registry cache, and the image
// is still reproducible: its layers' times are clamped. (A RUN whose output
// varies is not: pip's .pyc files differ between runs, as CPython's marshal
// output does; with the cache on, a new builder takes those layers from it.)
func TestCacheOffKeepsNoBuildCache(t *testing.T) {
	b := newDeployBench(t)
	b.write("Dockerfile", "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nRUN mkdir -p /opt/conf && echo 'stage = \"test\"' > /opt/conf/settings.toml\n"+
		"COPY app.py ${LAMBDA_TASK_ROOT}/\nCMD [\"app.handler\"]\n")
	b.write("app.py", app("v1", ""))
	off := func(m map[string]property.Value) { m["cache"] = property.New(false) }
	b.mustUp(b.args(off))
	b.write("app.py", app("v2", ""))
	st := b.mustUp(b.args(off))
	if b.tagged("buildcache") != "" {
		t.Fatal("cache: false pushed a build cache")
	}
	if calls := b.calls().Calls; calls["registry:GET-manifest"] == 0 {
		t.Fatalf("no manifest was read at all: %v", calls)
	}
	// The same source again from a new buildkitd (an empty cache) gives the same digest.
	t.Setenv("BUILDKIT_HOST", testenv.Buildkitd(t))
	b.srv = server(t)
	if err := b.srv.Configure(p.ConfigureRequest{Args: property.NewMap(nil)}); err != nil {
		t.Fatal(err)
	}
	b.state, b.inputs = property.Map{}, property.Map{}
	b.write("app.py", app("v2", ""))
	in := b.args(func(m map[string]property.Value) {
		off(m)
		m["function"] = property.New("api-twin")
		m["repository"] = property.New("api-twin")
	})
	twin, err := b.up(in)
	if err != nil {
		t.Fatal(err)
	}
	if str(twin, "imageDigest") != str(st, "imageDigest") {
		t.Fatalf("the same source built twice: %s and %s", str(st, "imageDigest"), str(twin, "imageDigest"))
	}
}
