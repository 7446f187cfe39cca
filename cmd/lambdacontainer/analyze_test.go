package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAnalyzeCommand(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("Dockerfile", "FROM public.ecr.aws/lambda/python:3.12\nCOPY requirements.txt app.py ${LAMBDA_TASK_ROOT}/\nRUN pip install -r requirements.txt -t ${LAMBDA_TASK_ROOT}\nCMD [\"app.handler\"]\n")
	write("requirements.txt", "requests\n")
	write("app.py", "import os\nimport requests\nimport yaml\n\nTABLE = os.environ['TABLE']\n\n\ndef handler(event, context):\n    return {}\n")

	var out, errs bytes.Buffer
	if code := run([]string{"analyze", "--json", "--env", "STAGE=prod", dir}, &out, &errs); code != 1 {
		t.Fatalf("exit %d, want 1 for error findings: %s", code, errs.String())
	}
	var got []struct{ Severity, Code, File, Module, Fix string }
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if len(got) != 2 || got[0].Code != "missing-requirement" || got[0].Module != "yaml" || got[0].Fix != "add `PyYAML` to requirements.txt" ||
		got[1].Code != "env-missing" || got[1].File != "app.py" {
		t.Fatalf("findings %+v", got)
	}

	out.Reset()
	if code := run([]string{"analyze", "--env", "TABLE=orders", dir}, &out, &errs); code != 1 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	want := "app.py:3: error: `yaml` is imported but no requirement provides it (fix: add `PyYAML` to requirements.txt)\n"
	if out.String() != want {
		t.Fatalf("output %q, want %q", out.String(), want)
	}

	write("requirements.txt", "requests\nPyYAML\n")
	out.Reset()
	if code := run([]string{"analyze", dir}, &out, &errs); code != 0 || out.Len() != 0 {
		t.Fatalf("a clean context: exit %d, output %q, %s", code, out.String(), errs.String())
	}

	write("Dockerfile.test", "ARG BASE_IMAGE\nFROM ${BASE_IMAGE} AS app\nCMD [\"app.handler\"]\n")
	out.Reset()
	if code := run([]string{"analyze", "--dockerfile", "Dockerfile.test", "--build-arg", "BASE_IMAGE=python:3.12-slim", "--target", "app", dir}, &out, &errs); code != 0 ||
		!strings.Contains(out.String(), "Dockerfile.test:2: warning: the base image `python:3.12-slim` is not a Lambda Python base image") {
		t.Fatalf("exit %d, output %q", code, out.String())
	}

	for _, args := range [][]string{{"analyze"}, {"analyze", dir, dir}, {"analyze", "--build-arg", "NOEQUALS", dir}, {"analyze", "--nope", dir}} {
		if code := run(args, &out, &errs); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
	if code := run([]string{"analyze", filepath.Join(dir, "missing")}, &out, &errs); code != 1 {
		t.Errorf("a missing context: exit %d, want 1", code)
	}
}
