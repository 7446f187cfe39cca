// Package tests holds the end-to-end tests: the real Pulumi CLI runs programs
// against the provider binary built from this checkout.
package tests

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// providerDir holds the provider binary built once for the whole run.
var providerDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lambdacontainer-provider-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	build := exec.Command("go", "build", "-o", dir, "../cmd/pulumi-resource-lambdacontainer")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the provider: %v\n%s", err, out)
		os.Exit(1)
	}
	providerDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	// Only the whole suite takes every path: a run of some tests (-run,
	// -skip) would find actions unused and write a partial list.
	whole := flag.Lookup("test.run").Value.String() == "" && flag.Lookup("test.skip").Value.String() == ""
	if code == 0 && whole && !suiteCalls.empty() {
		if err := suiteCalls.checkPolicy("../docs/iam-policy.json", "../docs/iam-actions.md"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// project is a Pulumi project in a temporary directory, with its own file
// backend and PULUMI_HOME, that uses the provider built from this checkout.
type project struct {
	t   *testing.T
	dir string
	env []string
}

func newYAMLProject(t *testing.T, resources string) *project {
	t.Helper()
	for _, tool := range []string{"pulumi", "pulumi-language-yaml"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not on PATH: run scripts/bootstrap.sh, then the tests through `make test`", tool)
		}
	}
	dir := t.TempDir()
	if err := exec.Command("cp", "-r", "testdata/backend", dir).Run(); err != nil {
		t.Fatal(err)
	}
	program := fmt.Sprintf("name: e2e\nruntime: yaml\nplugins:\n  providers:\n    - name: lambdacontainer\n      path: %s\nresources:\n%s", providerDir, resources)
	if err := os.WriteFile(filepath.Join(dir, "Pulumi.yaml"), []byte(program), 0o644); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, ".state")
	if err := os.MkdirAll(state, 0o755); err != nil {
		t.Fatal(err)
	}
	pr := &project{t: t, dir: dir, env: append(os.Environ(),
		"PULUMI_BACKEND_URL=file://"+state,
		"PULUMI_HOME="+filepath.Join(dir, ".pulumi-home"),
		"PULUMI_CONFIG_PASSPHRASE=e2e-passphrase",
		"PULUMI_SKIP_UPDATE_CHECK=true",
		"PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true",
		"PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK=true",
		"NO_COLOR=1",
	)}
	if out, err := pr.pulumi("stack", "init", "dev"); err != nil {
		t.Fatalf("pulumi stack init: %v\n%s", err, out)
	}
	return pr
}

// pulumi runs the CLI and returns its stdout and stderr together.
func (pr *project) pulumi(args ...string) (string, error) {
	stdout, stderr, err := pr.pulumiSplit(args...)
	return stdout + stderr, err
}

func (pr *project) pulumiSplit(args ...string) (stdout, stderr string, err error) {
	cmd := exec.Command("pulumi", append(args, "--non-interactive")...)
	cmd.Dir = pr.dir
	cmd.Env = pr.env
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

const deployment = `  api:
    type: lambdacontainer:LambdaContainerDeployment
    properties:
      function: orders-api
      repository: orders-api
      context: ./backend
      buildArgs: {PYTHON_VERSION: "3.11"}
      alias: live
      verify:
        http: {method: GET, path: /health}
        expectStatus: 200
`

func TestPreviewShowsTheDeploymentToCreate(t *testing.T) {
	pr := newYAMLProject(t, deployment)
	out, stderr, err := pr.pulumiSplit("preview", "--json")
	if err != nil {
		t.Fatalf("pulumi preview failed: %v\n%s%s", err, out, stderr)
	}
	var preview struct {
		Steps []struct {
			Op  string `json:"op"`
			URN string `json:"urn"`
		} `json:"steps"`
		ChangeSummary map[string]int `json:"changeSummary"`
	}
	if err := json.Unmarshal([]byte(out), &preview); err != nil {
		t.Fatalf("preview --json is not JSON: %v\n%s", err, out)
	}
	var found bool
	for _, s := range preview.Steps {
		if s.Op == "create" && strings.HasSuffix(s.URN, "lambdacontainer:index:LambdaContainerDeployment::api") {
			found = true
		}
	}
	if !found || preview.ChangeSummary["create"] < 2 { // the stack and the deployment
		t.Fatalf("preview does not create the deployment:\n%s", out)
	}

	text, err := pr.pulumi("preview")
	if err != nil || !strings.Contains(text, "+ ") || !strings.Contains(text, "lambdacontainer:index:LambdaContainerDeployment") {
		t.Fatalf("text preview does not show the resource to create: %v\n%s", err, text)
	}
}

// The preflight analysis in preview, through the real CLI: `error` fails
// the preview with the file, line and fix; `warn` shows the same as a
// warning and previews; `off` says nothing.
func TestPreviewRunsTheAnalysisInEachMode(t *testing.T) {
	for mode, wantErr := range map[string]bool{"error": true, "warn": false, "off": false} {
		pr := newYAMLProject(t, strings.Replace(deployment, "      alias: live\n", "      alias: live\n      analysis: "+mode+"\n", 1))
		app := filepath.Join(pr.dir, "backend", "app.py")
		data, _ := os.ReadFile(app)
		os.WriteFile(app, append([]byte("import yaml\n"), data...), 0o644)
		out, err := pr.pulumi("preview")
		finding := strings.Contains(out, "app.py:1: `yaml` is imported but no requirement provides it") && strings.Contains(out, "PyYAML")
		switch {
		case (err != nil) != wantErr:
			t.Errorf("analysis %s: preview error %v\n%s", mode, err, out)
		case mode != "off" && !finding:
			t.Errorf("analysis %s: the preview does not show the finding:\n%s", mode, out)
		case mode == "off" && strings.Contains(out, "yaml"):
			t.Errorf("analysis off: the preview still analysed:\n%s", out)
		case mode == "warn" && !strings.Contains(out, "warning:"):
			t.Errorf("analysis warn: the finding is not a warning:\n%s", out)
		}
	}
}

func TestPreviewFailsWithTheCheckFailure(t *testing.T) {
	pr := newYAMLProject(t, `  api:
    type: lambdacontainer:LambdaContainerDeployment
    properties:
      function: orders-api
      repository: orders-api
      context: ./backend
      keepVersions: 0
      verify:
        event: '{"ping": tru}'
`)
	out, err := pr.pulumi("preview")
	if err == nil {
		t.Fatalf("preview of a bad input succeeded:\n%s", out)
	}
	t.Log(out)
	for _, want := range []string{
		"property keepVersions", "must be at least 1 (the version being deployed), got 0",
		"property verify.event", "not valid JSON: line 1, column 13",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("preview output lacks %q:\n%s", want, out)
		}
	}
}

// checkedInputs runs a preview and returns the inputs Check produced for the
// deployment, as the engine records them.
func (pr *project) checkedInputs() map[string]any {
	pr.t.Helper()
	out, stderr, err := pr.pulumiSplit("preview", "--json")
	if err != nil {
		pr.t.Fatalf("pulumi preview: %v\n%s%s", err, out, stderr)
	}
	var preview struct {
		Steps []struct {
			URN      string `json:"urn"`
			NewState struct {
				Inputs map[string]any `json:"inputs"`
			} `json:"newState"`
		} `json:"steps"`
	}
	if err := json.Unmarshal([]byte(out), &preview); err != nil {
		pr.t.Fatal(err)
	}
	for _, s := range preview.Steps {
		if strings.HasSuffix(s.URN, "::api") {
			return s.NewState.Inputs
		}
	}
	pr.t.Fatalf("no deployment in the preview:\n%s", out)
	return nil
}

// importDeployed writes a stack state in which the deployment was deployed
// with the given inputs, as a deployment's Create would record it.
func (pr *project) importDeployed(inputs map[string]any) {
	pr.t.Helper()
	exported, _, err := pr.pulumiSplit("stack", "export")
	if err != nil {
		pr.t.Fatalf("pulumi stack export: %v", err)
	}
	var state map[string]any
	if err := json.Unmarshal([]byte(exported), &state); err != nil {
		pr.t.Fatal(err)
	}
	stack := "urn:pulumi:dev::e2e::pulumi:pulumi:Stack::e2e-dev"
	provider := "urn:pulumi:dev::e2e::pulumi:providers:lambdacontainer::default"
	outputs := map[string]any{
		"imageUri":       "127.0.0.1:5000/orders-api@sha256:0000000000000000000000000000000000000000000000000000000000000000",
		"imageDigest":    "sha256:0000000000000000000000000000000000000000000000000000000000000000",
		"contentTag":     "src-000000000000",
		"imageSizeBytes": 1234,
		"imagePlatform":  "linux/amd64",
		"functionArn":    "arn:aws:lambda:us-east-1:123456789012:function:orders-api",
		"version":        "1",
		"findings":       []any{},
	}
	for k, v := range inputs {
		outputs[k] = v
	}
	state["deployment"].(map[string]any)["resources"] = []any{
		map[string]any{"urn": stack, "custom": false, "type": "pulumi:pulumi:Stack"},
		map[string]any{"urn": provider, "custom": true, "id": "provider-id", "type": "pulumi:providers:lambdacontainer", "inputs": map[string]any{}, "outputs": map[string]any{}},
		map[string]any{"urn": "urn:pulumi:dev::e2e::lambdacontainer:index:LambdaContainerDeployment::api", "custom": true, "id": "api",
			"type": "lambdacontainer:index:LambdaContainerDeployment", "inputs": inputs, "outputs": outputs,
			"parent": stack, "provider": provider + "::provider-id"},
	}
	file := filepath.Join(pr.t.TempDir(), "state.json")
	data, _ := json.Marshal(state)
	if err := os.WriteFile(file, data, 0o644); err != nil {
		pr.t.Fatal(err)
	}
	if out, err := pr.pulumi("stack", "import", "--file", file); err != nil {
		pr.t.Fatalf("pulumi stack import: %v\n%s", err, out)
	}
}

// TestPreviewNamesChangedFiles deploys (in state) a context, changes it, and
// reads what `pulumi preview --diff` says: the files, by name.
func TestPreviewNamesChangedFiles(t *testing.T) {
	pr := newYAMLProject(t, deployment+"outputs:\n  imageUri: ${api.imageUri}\n")
	inputs := pr.checkedInputs()
	files, ok := inputs["sourceFiles"].(map[string]any)
	if !ok || files["app.py"] == nil || !strings.HasPrefix(inputs["sourceHash"].(string), "blake3:") {
		t.Fatalf("Check did not compute sourceHash and sourceFiles: %v", inputs)
	}

	pr.importDeployed(inputs)
	out, err := pr.pulumi("preview", "--diff")
	if err != nil || !strings.Contains(out, "2 unchanged") || strings.Contains(out, "~ ") || strings.Contains(out, "changed:") {
		t.Fatalf("an unchanged source must preview as unchanged: %v\n%s", err, out)
	}

	// The deployed context had old.py and another app.py; new.py is new.
	files["old.py"] = "0123456789ab"
	files["app.py"] = "000000000000"
	inputs["sourceHash"] = "blake3:" + strings.Repeat("0", 64)
	pr.importDeployed(inputs)
	if err := os.WriteFile(filepath.Join(pr.dir, "backend", "new.py"), []byte("X = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = pr.pulumi("preview", "--diff")
	if err != nil {
		t.Fatalf("pulumi preview --diff: %v\n%s", err, out)
	}
	t.Log(out)
	for _, want := range []string{
		"~ sourceFiles", `~ app.py: "000000000000" => "`, `+ new.py: "`, `- old.py: "0123456789ab"`,
		"source 3 changed: ~app.py +new.py -old.py",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("preview --diff lacks %q", want)
		}
	}
	if strings.Contains(out, "Dockerfile:") {
		t.Errorf("preview --diff names the unchanged Dockerfile")
	}

	// The image outputs are unknown until the update has run.
	if !strings.Contains(out, "imageUri: [unknown]") {
		t.Errorf("the update preview must show imageUri as unknown")
	}
}
