package sdkgen

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const root = "../.."

// tool finds a test tool on PATH; `make test` puts the bootstrap's tools there.
func tool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not on PATH: run scripts/bootstrap.sh, then the tests through `make test`", name)
	}
	return path
}

func run(t *testing.T, dir, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s in %s: %v\n%s", name, strings.Join(args, " "), dir, err, out)
	}
}

func TestSchemaAndSDKsAreFresh(t *testing.T) {
	stale, err := Stale(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	if len(stale) > 0 {
		t.Fatalf("generated files are stale; run `make schema sdks` and commit the result:\n  %s", strings.Join(stale, "\n  "))
	}
}

// TestStaleDetectsAChangedFile proves the freshness check can fail.
func TestStaleDetectsAChangedFile(t *testing.T) {
	dir := t.TempDir()
	data, err := Schema(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "schema.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, lang := range Languages {
		if err := Write(dir, data, lang); err != nil {
			t.Fatal(err)
		}
	}
	if stale, err := Stale(context.Background(), dir); err != nil || len(stale) != 0 {
		t.Fatalf("fresh output reported stale: %v %v", stale, err)
	}
	edited := filepath.Join(dir, "sdk", "python", "pulumi_lambdacontainer", "outputs.py")
	if err := os.WriteFile(edited, []byte("# edited by hand\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	extra := filepath.Join(dir, "sdk", "nodejs", "leftover.ts")
	if err := os.WriteFile(extra, []byte("export {};\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stale, err := Stale(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(stale, "\n")
	if !strings.Contains(got, "outputs.py") || !strings.Contains(got, "leftover.ts (not generated)") {
		t.Fatalf("edits not reported: %v", stale)
	}
}

func TestGoSDKBuilds(t *testing.T) {
	run(t, filepath.Join(root, "sdk", "go"), "go", "vet", "./...")
}

func TestNodeSDKCompiles(t *testing.T) {
	tsc := tool(t, "tsc")
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
	dir := t.TempDir()
	run(t, root, "cp", "-r", "sdk/nodejs/.", dir)
	if err := os.Symlink(modules, filepath.Join(dir, "node_modules")); err != nil {
		t.Fatal(err)
	}
	run(t, dir, tsc, "-p", "tsconfig.json")
	if _, err := os.Stat(filepath.Join(dir, "bin", "lambdaContainerDeployment.js")); err != nil {
		t.Fatalf("tsc produced no lambdaContainerDeployment.js: %v", err)
	}
}

func TestPythonSDKCompiles(t *testing.T) {
	python := tool(t, "python3")
	dir := t.TempDir()
	run(t, root, "cp", "-r", "sdk/python/.", dir)
	files, _ := filepath.Glob(filepath.Join(dir, "pulumi_lambdacontainer", "*.py"))
	more, _ := filepath.Glob(filepath.Join(dir, "pulumi_lambdacontainer", "*", "*.py"))
	if len(files) < 5 {
		t.Fatalf("expected the Python SDK's modules, found %v", files)
	}
	args := append([]string{"-m", "py_compile"}, append(files, more...)...)
	run(t, dir, python, args...)
}

// TestEveryPropertyIsDescribed walks schema.json: config, resource inputs
// and outputs, and object types all carry a description on every property.
func TestEveryPropertyIsDescribed(t *testing.T) {
	data, err := Schema(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Config struct {
			Variables map[string]struct{ Description string }
		}
		Resources map[string]struct {
			Description     string
			InputProperties map[string]struct{ Description string }
			Properties      map[string]struct{ Description string }
		}
		Types map[string]struct {
			Properties map[string]struct{ Description string }
		}
	}
	if err := json.Unmarshal(data, &spec); err != nil {
		t.Fatal(err)
	}
	count := 0
	check := func(where string, props map[string]struct{ Description string }) {
		for name, p := range props {
			count++
			if strings.TrimSpace(p.Description) == "" {
				t.Errorf("%s.%s has no description", where, name)
			}
		}
	}
	check("config", spec.Config.Variables)
	for token, r := range spec.Resources {
		if r.Description == "" {
			t.Errorf("%s has no description", token)
		}
		check(token+" input", r.InputProperties)
		check(token+" output", r.Properties)
	}
	for token, ty := range spec.Types {
		check(token, ty.Properties)
	}
	if len(spec.Resources) != 1 || count < 60 {
		t.Fatalf("schema looks incomplete: %d resources, %d properties", len(spec.Resources), count)
	}
}
