// Package gosdk deploys the Go example (examples/python-fastapi/go) with the
// generated Go SDK through the Automation API. tests/TestGoSDK runs it
// against a localaws and a buildkitd of its own, passing them in the
// environment.
package gosdk

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"

	"github.com/lambdacontainer/pulumi-lambdacontainer/examples/python-fastapi/go/orders"
)

func env(t *testing.T, key string) string {
	v := os.Getenv(key)
	if v == "" {
		t.Fatalf("%s is not set: this test is run by tests/TestGoSDK (`make test`), which starts localaws and buildkitd for it", key)
	}
	return v
}

// aliasVersion is the version the function's live alias points at.
func aliasVersion(t *testing.T, c *lambda.Client) string {
	a, err := c.GetAlias(context.Background(), &lambda.GetAliasInput{FunctionName: aws.String("orders-api"), Name: aws.String("live")})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(a.FunctionVersion)
}

// writes counts localaws's calls that change something: pushes, code
// updates, versions, aliases, functions (GET /_localaws/calls).
func writes(t *testing.T) map[string]int {
	t.Helper()
	resp, err := http.Get(env(t, "AWS_ENDPOINT_URL") + "/_localaws/calls")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var c struct{ Calls map[string]int }
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
		t.Fatalf("localaws's calls: %v", err)
	}
	out := map[string]int{}
	for _, op := range []string{"lambda:UpdateFunctionCode", "lambda:PublishVersion", "lambda:UpdateAlias", "lambda:CreateAlias", "lambda:CreateFunction", "registry:PUT-manifest", "registry:PUT-blob"} {
		out[op] = c.Calls[op]
	}
	return out
}

// tokens are the registry passwords localaws minted, from its state.
func tokens(t *testing.T) []string {
	t.Helper()
	var state struct{ Tokens map[string]any }
	data, err := os.ReadFile(filepath.Join(env(t, "LAMBDACONTAINER_E2E_LOCALAWS_DIR"), "ecr.json"))
	if err != nil || json.Unmarshal(data, &state) != nil || len(state.Tokens) == 0 {
		t.Fatalf("localaws's ECR state holds no registry tokens: %v", err)
	}
	var out []string
	for p := range state.Tokens {
		out = append(out, p)
	}
	return out
}

// checkVerification fails unless the verification output records a 200
// from a cold start of version, with the REPORT line.
func checkVerification(t *testing.T, outputs auto.OutputMap, version string) {
	t.Helper()
	v, _ := outputs["verification"].Value.(map[string]any)
	initMs, _ := v["initDurationMs"].(float64)
	if fmt.Sprint(v["status"]) != "200" || v["version"] != version || initMs <= 0 || !strings.Contains(fmt.Sprint(v["logExcerpt"]), "REPORT RequestId:") {
		t.Fatalf("the verification of version %s: %v", version, outputs["verification"].Value)
	}
}

func edit(t *testing.T, path, old, new string) {
	data, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(data), old) {
		t.Fatalf("%s lacks %q: %v", path, old, err)
	}
	os.WriteFile(path, []byte(strings.Replace(string(data), old, new, 1)), 0o644)
}

// TestGoProgramDeploysTheOrdersAPI is the YAML flow's twin: up, an
// unchanged up that writes nothing, a one-file change named by the preview,
// a missing requirement refused before anything is written, a broken route
// rolled back, the fix (no rebuild), a state with no token or password, and
// destroy.
func TestGoProgramDeploysTheOrdersAPI(t *testing.T) {
	ctx := context.Background()
	backend := env(t, "LAMBDACONTAINER_E2E_BACKEND")
	project := workspace.Project{Name: "orders-go", Runtime: workspace.NewProjectRuntimeInfo("go", nil),
		Plugins: &workspace.Plugins{Providers: []workspace.PluginOptions{{Name: "lambdacontainer", Path: env(t, "LAMBDACONTAINER_E2E_PROVIDER_DIR")}}}}
	stack, err := auto.UpsertStackInlineSource(ctx, "dev", "orders-go", orders.Program(backend),
		auto.Project(project), auto.SecretsProvider("passphrase"), auto.WorkDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	stack.SetConfig(ctx, "functionRole", auto.ConfigValue{Value: "arn:aws:iam::123456789012:role/orders-api"})
	stack.SetConfig(ctx, "baseImage", auto.ConfigValue{Value: env(t, "LAMBDACONTAINER_E2E_BASE_IMAGE")})
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fn := lambda.NewFromConfig(awsCfg)

	res, err := stack.Up(ctx)
	if err != nil {
		t.Fatalf("up: %v", err)
	}
	if res.Outputs["version"].Value != "1" || !strings.Contains(fmt.Sprint(res.Outputs["imageUri"].Value), "@sha256:") || aliasVersion(t, fn) != "1" {
		t.Fatalf("outputs after the first up: %v", res.Outputs)
	}
	checkVerification(t, res.Outputs, "1")
	before := writes(t)
	if _, err := stack.Up(ctx, optup.ExpectNoChanges()); err != nil {
		t.Fatalf("an unchanged up: %v", err)
	}
	if after := writes(t); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("an unchanged up wrote: before %v, after %v", before, after)
	}

	health := filepath.Join(backend, "app", "routers", "health.py")
	edit(t, health, `"status": "ok"`, `"status": "ok", "build": 2`)
	preview, err := stack.Preview(ctx, optpreview.Diff())
	if err != nil || !strings.Contains(preview.StdOut, "app/routers/health.py") {
		t.Fatalf("the preview does not name the changed file: %v\n%s", err, preview.StdOut)
	}
	if res, err = stack.Up(ctx); err != nil || res.Outputs["version"].Value != "2" || aliasVersion(t, fn) != "2" {
		t.Fatalf("the one-file change: %v %v", err, res.Outputs)
	}
	checkVerification(t, res.Outputs, "2")

	// A missing requirement is refused before anything is built.
	main := filepath.Join(backend, "app", "main.py")
	edit(t, main, "from fastapi import FastAPI", "import yaml\nfrom fastapi import FastAPI")
	before = writes(t)
	if _, err := stack.Up(ctx); err == nil || !strings.Contains(err.Error(), "PyYAML") || !strings.Contains(err.Error(), "app/main.py:2") || aliasVersion(t, fn) != "2" {
		t.Fatalf("an import without its requirement: %v (alias on %s)", err, aliasVersion(t, fn))
	}
	if after := writes(t); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("the refused import wrote: before %v, after %v", before, after)
	}
	edit(t, main, "import yaml\n", "")

	edit(t, health, `return {"status": "ok"`, "1 / 0\n    return {\"status\": \"ok\"")
	if _, err := stack.Up(ctx); err == nil || !strings.Contains(err.Error(), "ZeroDivisionError") || aliasVersion(t, fn) != "2" {
		t.Fatalf("a broken route: %v (alias on %s)", err, aliasVersion(t, fn))
	}
	// The fix is the source version 2 was built from: its image is in ECR.
	edit(t, health, "1 / 0\n    ", "")
	before = writes(t)
	if res, err = stack.Up(ctx); err != nil || res.Outputs["version"].Value != "2" || aliasVersion(t, fn) != "2" {
		t.Fatalf("the fix: %v %v", err, res.Outputs)
	}
	if after := writes(t); after["registry:PUT-blob"] != before["registry:PUT-blob"] {
		t.Fatalf("the fix rebuilt an image that was in ECR: %v -> %v", before, after)
	}

	// The state holds no registry token and no password.
	exported, err := stack.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, token := range tokens(t) {
		if strings.Contains(string(exported.Deployment), token) {
			t.Fatal("the state holds a registry token")
		}
	}
	if strings.Contains(strings.ToLower(string(exported.Deployment)), "password") {
		t.Fatal("the state mentions a password")
	}

	if _, err := stack.Destroy(ctx); err != nil {
		t.Fatalf("destroy: %v", err)
	}
	if _, err := fn.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("orders-api")}); err == nil {
		t.Fatal("destroy left the function the deployment created")
	}
}
