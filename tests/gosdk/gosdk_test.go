// Package gosdk deploys the Go example (examples/python-fastapi/go) with the
// generated Go SDK through the Automation API. tests/TestGoSDK runs it
// against a localaws and a buildkitd of its own, passing them in the
// environment.
package gosdk

import (
	"context"
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

func edit(t *testing.T, path, old, new string) {
	data, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(data), old) {
		t.Fatalf("%s lacks %q: %v", path, old, err)
	}
	os.WriteFile(path, []byte(strings.Replace(string(data), old, new, 1)), 0o644)
}

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
	if res.Outputs["version"].Value != "1" || !strings.Contains(res.Outputs["imageUri"].Value.(string), "@sha256:") || aliasVersion(t, fn) != "1" {
		t.Fatalf("outputs after the first up: %v", res.Outputs)
	}
	if _, err := stack.Up(ctx, optup.ExpectNoChanges()); err != nil {
		t.Fatalf("an unchanged up: %v", err)
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

	main := filepath.Join(backend, "app", "main.py")
	edit(t, main, "from fastapi import FastAPI", "import yaml\nfrom fastapi import FastAPI")
	if _, err := stack.Up(ctx); err == nil || !strings.Contains(err.Error(), "PyYAML") || aliasVersion(t, fn) != "2" {
		t.Fatalf("an import without its requirement: %v (alias on %s)", err, aliasVersion(t, fn))
	}
	edit(t, main, "import yaml\n", "")

	edit(t, health, `return {"status": "ok"`, "1 / 0\n    return {\"status\": \"ok\"")
	if _, err := stack.Up(ctx); err == nil || !strings.Contains(err.Error(), "ZeroDivisionError") || aliasVersion(t, fn) != "2" {
		t.Fatalf("a broken route: %v (alias on %s)", err, aliasVersion(t, fn))
	}
	edit(t, health, "1 / 0\n    ", "")
	if res, err = stack.Up(ctx); err != nil || aliasVersion(t, fn) != res.Outputs["version"].Value {
		t.Fatalf("the fix: %v %v", err, res.Outputs)
	}

	if _, err := stack.Destroy(ctx); err != nil {
		t.Fatalf("destroy: %v", err)
	}
	if _, err := fn.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("orders-api")}); err == nil {
		t.Fatal("destroy left the function the deployment created")
	}
}
