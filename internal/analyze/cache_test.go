package analyze

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestCache(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"Dockerfile": "FROM public.ecr.aws/lambda/python:3.12\nCOPY app.py ./\nCMD [\"app.handler\"]\n",
		"app.py":     "import yaml\n\n\ndef handler(event, context):\n    return {}\n",
	})
	cache := t.TempDir()
	in := inputFor(t, dir, "")
	in.CacheDir, in.CacheKey = cache, "blake3:first"
	ctx := context.Background()

	first, err := Analyze(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 1 || first[0].Module != "yaml" {
		t.Fatalf("first run: %+v", first)
	}
	entries, _ := os.ReadDir(cache)
	if len(entries) != 1 || filepath.Ext(entries[0].Name()) != ".json" {
		t.Fatalf("the cache holds %v, want one entry and no temporary file", entries)
	}

	// The same key reads no Python file: app.py is now a directory, which
	// Analyze could not read.
	app := filepath.Join(dir, "app.py")
	if err := os.Remove(app); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(app, 0o755); err != nil {
		t.Fatal(err)
	}
	second, err := Analyze(ctx, in)
	if err != nil {
		t.Fatalf("a cached result must not read app.py: %v", err)
	}
	if !reflect.DeepEqual(first, second) {
		t.Fatalf("cached %+v, want %+v", second, first)
	}

	// A different key recomputes: it reads app.py and fails on it.
	other := in
	other.CacheKey = "blake3:second"
	if _, err := Analyze(ctx, other); err == nil {
		t.Fatal("a different key must recompute, and reading the directory app.py must fail")
	}
	// So do other inputs that decide the findings, with the same key.
	for name, mutate := range map[string]func(*Input){
		"build args":  func(in *Input) { in.BuildArgs = map[string]string{"X": "1"} },
		"target":      func(in *Input) { in.Target = "x" },
		"environment": func(in *Input) { in.Environment = map[string]string{} },
		"files":       func(in *Input) { in.Files = append([]string{"extra.py"}, in.Files...) },
	} {
		changed := in
		mutate(&changed)
		if got, err := Analyze(ctx, changed); err == nil && reflect.DeepEqual(got, first) {
			t.Errorf("a change of %s must recompute", name)
		}
	}

	// A corrupt entry is ignored and rewritten.
	if err := os.Remove(app); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(app, []byte("import toml\n\n\ndef handler(event, context):\n    return {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(cache, entries[0].Name())
	for _, corrupt := range []string{"{not json", `{"version":"analyze/0","key":"x","findings":[]}`, ""} {
		if err := os.WriteFile(file, []byte(corrupt), 0o644); err != nil {
			t.Fatal(err)
		}
		third, err := Analyze(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if len(third) != 1 || third[0].Module != "toml" {
			t.Fatalf("after a corrupt cache entry %q: %+v", corrupt, third)
		}
	}
	again, err := Analyze(ctx, in)
	if err != nil || len(again) != 1 || again[0].Module != "toml" {
		t.Fatalf("the rewritten entry: %+v, %v", again, err)
	}

	// No cache without a key or a directory.
	for _, in := range []Input{{CacheDir: cache}, {CacheKey: "k"}} {
		if cacheKey(&in, "Dockerfile") != "" {
			t.Errorf("%+v must not be cached", in)
		}
	}
}

func TestCancelled(t *testing.T) {
	dir := writeProject(t, map[string]string{"Dockerfile": "FROM public.ecr.aws/lambda/python:3.12\n"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Analyze(ctx, inputFor(t, dir, "")); err == nil {
		t.Fatal("a cancelled context must fail")
	}
}
