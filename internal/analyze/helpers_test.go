package analyze

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lambdacontainer/pulumi-lambdacontainer/internal/source"
)

// writeProject writes files (slash paths -> contents) into a new directory.
func writeProject(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, data := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(data, "symlink:"); ok {
			if err := os.Symlink(target, full); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(full, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// inputFor builds the Input the provider would: Files from internal/source.
func inputFor(t testing.TB, dir, dockerfile string) Input {
	t.Helper()
	if dockerfile == "" {
		dockerfile = "Dockerfile"
	}
	tree, err := source.Hash(context.Background(), source.Options{Context: dir, Dockerfile: dockerfile, CacheDir: "off"})
	if err != nil {
		t.Fatal(err)
	}
	return Input{Context: dir, Dockerfile: filepath.Join(dir, filepath.FromSlash(dockerfile)), Files: tree.Paths(), CacheKey: tree.Hash}
}

func analyzeProject(t testing.TB, files map[string]string, mutate func(*Input)) []Finding {
	t.Helper()
	dir := writeProject(t, files)
	in := inputFor(t, dir, "")
	if mutate != nil {
		mutate(&in)
	}
	fs, err := Analyze(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}
