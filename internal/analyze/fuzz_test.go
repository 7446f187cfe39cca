package analyze

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func FuzzPythonImports(f *testing.F) {
	for _, s := range []string{
		"import a.b as c, d\nfrom . import x\nfrom .m import (y,\n z)\n",
		"def f():\n    import yaml\ntry:\n    import ujson\nexcept ImportError:\n    import json\n",
		"x = f\"{a!r:>{w}} {f'{b}'} {\"c\"}\"\nimport d\n",
		"s = '''\nimport no\n'''\nif TYPE_CHECKING:\n    import t\n",
		"importlib.import_module('m')\n__import__(\"n\")\nX = os.environ['X']\n",
		"if sys.version_info >= (3, 11):\n    import tomllib\nelse:\n    import tomli\n",
		"x = (1,\n\ndef f(:\n\timport a\n        import b\n",
		"f'{'\n'''\n\\\n",
		"match x:\n    case {'a': 1}:\n        pass\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		py := parsePython(src, "3.12")
		lines := strings.Count(src, "\n") + strings.Count(src, "\r") + 2
		for _, i := range py.imports {
			if i.line < 1 || i.line > lines {
				t.Fatalf("import %q at line %d of %d", i.module, i.line, lines)
			}
		}
		for _, e := range py.errs {
			if e.line < 1 || e.line > lines || e.msg == "" {
				t.Fatalf("syntax error %+v (of %d lines)", e, lines)
			}
		}
		for _, e := range py.env {
			if e.line < 1 || e.line > lines {
				t.Fatalf("env read %+v", e)
			}
		}
	})
}

func FuzzRequirements(f *testing.F) {
	for _, s := range []string{
		"fastapi[standard]==0.115.0  # comment\n-r other.txt\n-c constraints.txt\n",
		"orjson==3.10 \\\n    --hash=sha256:aa\nsimplejson; python_version < \"3.13\"\n-e ./lib\n",
		"pkg @ https://x/pkg-1.0-py3-none-any.whl\ngit+https://github.com/o/r.git@v1#egg=r\n--index-url https://x\n",
		"[project]\nname = \"x\"\ndependencies = [\"a\", \"b[c]>=1\"]\n[project.optional-dependencies]\nx = [\"x[y]\"]\n",
		"-r\n-rreq.txt\n--requirement=req.txt\n\\",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		dir := t.TempDir()
		names := []string{"requirements.txt", "other.txt", "req.txt", "pyproject.toml", "setup.cfg", "lib/pyproject.toml"}
		for _, n := range names {
			os.MkdirAll(filepath.Dir(filepath.Join(dir, n)), 0o755)
			if err := os.WriteFile(filepath.Join(dir, n), []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		files, err := newFileSet(dir, names, "Dockerfile")
		if err != nil {
			t.Fatal(err)
		}
		r := &reqReader{files: files, seen: map[string]bool{}, poetry: map[string]bool{}}
		if err := r.requirementsFile("requirements.txt", false, 0); err != nil {
			t.Fatal(err)
		}
		r.localProject("", []string{"x"}, 0)
		for _, req := range r.reqs {
			if req.name == "" || strings.ContainsAny(req.name, " _.[") {
				t.Fatalf("bad requirement name %q from %q", req.name, data)
			}
		}
		for _, l := range strings.Split(data, "\n") {
			parseSpec(l)
		}
	})
}

func FuzzDockerfile(f *testing.F) {
	for _, s := range []string{
		"FROM public.ecr.aws/lambda/python:3.12\nCOPY app.py ${LAMBDA_TASK_ROOT}/\nCMD [\"app.handler\"]\n",
		"# syntax=docker/dockerfile:1\nARG BASE\nFROM ${BASE:-python:3.11} AS build\nRUN --mount=type=bind,source=requirements.txt,target=/r.txt pip install -r /r.txt -t /asset\nFROM public.ecr.aws/lambda/python:3.12\nCOPY --from=build /asset ${LAMBDA_TASK_ROOT}\nCOPY [\"app.py\", \"./\"]\n",
		"FROM python:3.12-slim\nWORKDIR /fn\nCOPY *.py ./\nRUN pip install awslambdaric && poetry export -o r.txt\nENTRYPOINT [\"python\", \"-m\", \"awslambdaric\"]\nCMD app.handler\n",
		"FROM scratch\nCOPY <<EOF /var/task/app.py\nx = 1\nEOF\nADD a.tar.gz /x/\nCOPY --parents a/b ./\n",
		"FROM a AS b\nFROM b\nCOPY --from=b / /\nCOPY --from=9 x y\nENV A=1 B=$A\nARG C\nENTRYPOINT x\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, dockerfile string) {
		dir := t.TempDir()
		for name, data := range map[string]string{
			"Dockerfile": dockerfile, "app.py": "import yaml\ndef handler(e, c): pass\n",
			"requirements.txt": "requests\n", "a/b": "", "pyproject.toml": "[project]\nname='x'\n",
		} {
			os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
			if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		fs, err := Analyze(context.Background(), Input{Context: dir, Dockerfile: filepath.Join(dir, "Dockerfile"),
			Files: []string{"Dockerfile", "a/b", "app.py", "pyproject.toml", "requirements.txt"}, Environment: map[string]string{}})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fs {
			if f.Code == "" || f.Message == "" || strings.Contains(f.Message+f.Fix, dir) {
				t.Fatalf("bad finding %+v", f)
			}
		}
	})
}
