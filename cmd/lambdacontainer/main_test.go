package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHashCommand(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nCOPY . /\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "app.py"), []byte("print(1)\n"), 0o644)
	os.WriteFile(filepath.Join(dir, ".dockerignore"), []byte("*.log\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "debug.log"), []byte("noise\n"), 0o644)

	var out, errs bytes.Buffer
	if code := run([]string{"hash", "--cache-dir", "off", "--json", "--files", dir}, &out, &errs); code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	var got struct {
		Hash       string
		IgnoreFile string
		Files      int
		Digests    map[string]string
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.HasPrefix(got.Hash, "blake3:") || got.IgnoreFile != ".dockerignore" || got.Files != 3 ||
		got.Digests["app.py"] == "" || got.Digests["debug.log"] != "" {
		t.Fatalf("unexpected result: %+v", got)
	}

	out.Reset()
	if code := run([]string{"hash", "--cache-dir", "off", "--trigger", "v2", dir}, &out, &errs); code != 0 || strings.Contains(out.String(), got.Hash) {
		t.Fatalf("a trigger must change the hash (exit %d):\n%s", code, out.String())
	}

	errs.Reset()
	if code := run([]string{"hash", filepath.Join(dir, "missing")}, &out, &errs); code != 1 || !strings.Contains(errs.String(), filepath.Join(dir, "missing")) {
		t.Fatalf("a missing context must exit 1 naming it, got %d: %s", code, errs.String())
	}
	if code := run([]string{"nope"}, &out, &errs); code != 2 {
		t.Fatalf("an unknown command must exit 2, got %d", code)
	}
}
