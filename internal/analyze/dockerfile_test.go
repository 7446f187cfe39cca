package analyze

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// layoutOf runs an analysis and returns it, to look at the image it modelled.
func layoutOf(t *testing.T, files map[string]string, mutate func(*Input)) *analysis {
	t.Helper()
	dir := writeProject(t, files)
	in := inputFor(t, dir, "")
	if mutate != nil {
		mutate(&in)
	}
	a := &analysis{in: &in, rel: "Dockerfile"}
	if err := a.run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return a
}

func TestCopyMapping(t *testing.T) {
	const base = "FROM public.ecr.aws/lambda/python:3.12\n"
	srcs := map[string]string{"app.py": "", "util.py": "", "pkg/__init__.py": "", "pkg/mod.py": "", "conf/a.json": "", "README.md": ""}
	for _, c := range []struct {
		name, dockerfile string
		args             map[string]string
		want             []string // image files from the context, "image=context"
	}{
		{"copy dot dot", "COPY . .\n", nil, []string{
			"/var/task/Dockerfile=Dockerfile", "/var/task/README.md=README.md", "/var/task/app.py=app.py", "/var/task/conf/a.json=conf/a.json",
			"/var/task/pkg/__init__.py=pkg/__init__.py", "/var/task/pkg/mod.py=pkg/mod.py", "/var/task/util.py=util.py"}},
		{"directory with slashes", "COPY pkg/ ${LAMBDA_TASK_ROOT}/pkg/\n", nil, []string{"/var/task/pkg/__init__.py=pkg/__init__.py", "/var/task/pkg/mod.py=pkg/mod.py"}},
		{"directory contents", "COPY pkg ${LAMBDA_TASK_ROOT}\n", nil, []string{"/var/task/__init__.py=pkg/__init__.py", "/var/task/mod.py=pkg/mod.py"}},
		{"glob", "COPY *.py ./\n", nil, []string{"/var/task/app.py=app.py", "/var/task/util.py=util.py"}},
		{"file into an existing directory", "COPY app.py $LAMBDA_TASK_ROOT\n", nil, []string{"/var/task/app.py=app.py"}},
		{"file renamed", "COPY app.py /var/task/main.py\n", nil, []string{"/var/task/main.py=app.py"}},
		{"chown and several sources", "COPY --chown=1000:1000 --chmod=644 app.py util.py /var/task/\n", nil, []string{"/var/task/app.py=app.py", "/var/task/util.py=util.py"}},
		{"json form", "COPY [\"app.py\", \"pkg\", \"/var/task/\"]\n", nil, []string{"/var/task/__init__.py=pkg/__init__.py", "/var/task/app.py=app.py", "/var/task/mod.py=pkg/mod.py"}},
		{"add local", "ADD app.py ./\n", nil, []string{"/var/task/app.py=app.py"}},
		{"parents", "COPY --parents pkg/mod.py conf/a.json /var/task/\n", nil, []string{"/var/task/conf/a.json=conf/a.json", "/var/task/pkg/mod.py=pkg/mod.py"}},
		{"relative to workdir", "WORKDIR /srv\nWORKDIR code\nCOPY app.py .\n", nil, []string{"/srv/code/app.py=app.py"}},
		{"arg default", "ARG DEST=/opt/app\nCOPY app.py ${DEST}/\n", nil, []string{"/opt/app/app.py=app.py"}},
		{"build arg overrides the default", "ARG DEST=/opt/app\nCOPY app.py ${DEST}/\n", map[string]string{"DEST": "/var/task"}, []string{"/var/task/app.py=app.py"}},
		{"default value syntax", "COPY app.py ${UNSET:-/var/task/x}/\n", nil, []string{"/var/task/x/app.py=app.py"}},
		{"env", "ENV ROOT=/var/task/sub\nCOPY app.py $ROOT/\n", nil, []string{"/var/task/sub/app.py=app.py"}},
		{"meta arg redeclared in the stage", "COPY app.py ${DIR}/\n", nil, []string{"/app.py=app.py"}}, // DIR is not declared in the stage: empty
		{"copy from a stage", "COPY util.py /build/\nFROM public.ecr.aws/lambda/python:3.12\nCOPY --from=0 /build/util.py ${LAMBDA_TASK_ROOT}/\n", nil, []string{"/var/task/util.py=util.py"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			df := base + c.dockerfile
			if c.name == "meta arg redeclared in the stage" {
				df = "ARG DIR=/var/task\n" + df
			}
			files := maps.Clone(srcs)
			files["Dockerfile"] = df + "CMD [\"app.handler\"]\n"
			a := layoutOf(t, files, func(in *Input) { in.BuildArgs = c.args })
			if a.df.fatal {
				t.Fatalf("the Dockerfile did not parse: %+v", a.findings)
			}
			var got []string
			for p, f := range a.final.files {
				if f.ctx != "" {
					got = append(got, p+"="+f.ctx)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, c.want) {
				t.Errorf("files\n%q\nwant\n%q", got, c.want)
			}
		})
	}
}

// codes lists the findings as "code file:line module" for comparison.
func codes(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		s := f.Code + " " + f.File
		if f.Line > 0 {
			s += ":" + strconv.Itoa(f.Line)
		}
		if f.Module != "" {
			s += " " + f.Module
		}
		out = append(out, s)
	}
	return out
}

func find(fs []Finding, code string) *Finding {
	for i := range fs {
		if fs[i].Code == code {
			return &fs[i]
		}
	}
	return nil
}

func TestDockerfileLint(t *testing.T) {
	handler := "def handler(event, context):\n    return {}\n"
	for _, c := range []struct {
		name  string
		files map[string]string
		args  map[string]string
		want  []string
		check func(t *testing.T, fs []Finding)
	}{
		{"clean", map[string]string{"Dockerfile": "FROM public.ecr.aws/lambda/python:3.12\nCOPY app.py ./\nCMD [\"app.handler\"]\n", "app.py": handler}, nil, nil, nil},
		{"base not lambda", map[string]string{"Dockerfile": "FROM python:3.12-slim\nCOPY app.py ./\nCMD [\"python\", \"app.py\"]\n", "app.py": handler}, nil,
			[]string{"base-not-lambda Dockerfile:1"}, func(t *testing.T, fs []Finding) {
				if fs[0].Severity != "warning" || !strings.Contains(fs[0].Message, "python:3.12-slim") {
					t.Errorf("%+v", fs[0])
				}
			}},
		{"awslambdaric from requirements", map[string]string{
			"Dockerfile":       "FROM python:3.12-slim\nWORKDIR /fn\nCOPY requirements.txt app.py ./\nRUN pip install -r requirements.txt -t /fn\nENTRYPOINT [\"python\", \"-m\", \"awslambdaric\"]\nCMD [\"app.handler\"]\n",
			"requirements.txt": "awslambdaric==3.0.0\n", "app.py": handler}, nil, nil, nil},
		{"pip without target", map[string]string{
			"Dockerfile":       "FROM python:3.12-slim\nWORKDIR /fn\nCOPY requirements.txt app.py ./\nRUN python -m pip install --upgrade pip\nRUN pip3 install --no-cache-dir -r requirements.txt\nENTRYPOINT [\"python\", \"-m\", \"awslambdaric\"]\nCMD [\"app.handler\"]\n",
			"requirements.txt": "awslambdaric\n", "app.py": handler}, nil, []string{"pip-no-target Dockerfile:5"}, nil},
		{"copy source ignored", map[string]string{
			"Dockerfile":    "FROM public.ecr.aws/lambda/python:3.12\nCOPY app.py ./\nCOPY config/ ./config/\nCMD [\"app.handler\"]\n",
			".dockerignore": "config\n", "config/a.yaml": "", "app.py": handler}, nil, []string{"copy-source-missing Dockerfile:3"},
			func(t *testing.T, fs []Finding) {
				if !strings.Contains(fs[0].Message, "excluded from the build context by .dockerignore (pattern `config`)") || !strings.Contains(fs[0].Fix, "`config`") {
					t.Errorf("%+v", fs[0])
				}
			}},
		{"syntax directive", map[string]string{"Dockerfile": "# syntax=docker/dockerfile:1.7\nFROM public.ecr.aws/lambda/python:3.12\nCOPY app.py ./\nCMD [\"app.handler\"]\n", "app.py": handler}, nil,
			[]string{"syntax-directive Dockerfile:1"}, func(t *testing.T, fs []Finding) {
				if fs[0].Severity != "info" {
					t.Errorf("%+v", fs[0])
				}
			}},
		{"entrypoint override", map[string]string{"Dockerfile": "FROM public.ecr.aws/lambda/python:3.12\nCOPY app.py ./\nENTRYPOINT python app.py\n", "app.py": handler}, nil,
			[]string{"entrypoint-override Dockerfile:3"}, nil},
		{"entrypoint wrapping the base's", map[string]string{"Dockerfile": "FROM public.ecr.aws/lambda/python:3.12\nCOPY app.py ./\nENTRYPOINT [\"/usr/local/bin/aws-lambda-rie\", \"/lambda-entrypoint.sh\"]\nCMD [\"app.handler\"]\n", "app.py": handler}, nil, nil, nil},
		{"arg base without default", map[string]string{"Dockerfile": "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY app.py ./\nCMD [\"app.handler\"]\n", "app.py": handler}, nil,
			[]string{"arg-base-no-default Dockerfile:2"}, func(t *testing.T, fs []Finding) {
				if fs[0].Fix != "give ARG BASE_IMAGE a default or set buildArgs.BASE_IMAGE" {
					t.Errorf("fix %q", fs[0].Fix)
				}
			}},
		{"arg base with default syntax", map[string]string{"Dockerfile": "ARG BASE_IMAGE\nFROM ${BASE_IMAGE:-public.ecr.aws/lambda/python:3.12}\nCOPY app.py ./\nCMD [\"app.handler\"]\n", "app.py": handler}, nil, nil, nil},
		{"arg base given", map[string]string{"Dockerfile": "ARG BASE_IMAGE\nFROM $BASE_IMAGE\nCOPY app.py ./\nCMD [\"app.handler\"]\n", "app.py": handler},
			map[string]string{"BASE_IMAGE": "public.ecr.aws/lambda/python:3.11"}, nil, nil},
		{"unknown instruction", map[string]string{"Dockerfile": "FROM public.ecr.aws/lambda/python:3.12\n\nCOPPY app.py ./\nCMD [\"app.handler\"]\n", "app.py": handler}, nil,
			[]string{"dockerfile-syntax Dockerfile:3"}, nil},
		{"parser error", map[string]string{"Dockerfile": "FROM public.ecr.aws/lambda/python:3.12\nRUN <<EOF\necho never ends\n", "app.py": handler}, nil,
			[]string{"dockerfile-syntax Dockerfile:2"}, nil},
		{"copy with one argument", map[string]string{"Dockerfile": "FROM public.ecr.aws/lambda/python:3.12\nCOPY app.py\nCMD [\"app.handler\"]\n", "app.py": handler}, nil,
			[]string{"dockerfile-syntax Dockerfile:2"}, nil},
		{"instruction before FROM", map[string]string{"Dockerfile": "COPY app.py ./\nFROM public.ecr.aws/lambda/python:3.12\n", "app.py": handler}, nil,
			[]string{"dockerfile-syntax Dockerfile:1"}, nil},
		{"empty Dockerfile", map[string]string{"Dockerfile": "# nothing\n", "app.py": handler}, nil, []string{"dockerfile-syntax Dockerfile:1"}, nil},
		{"unused stage is not checked", map[string]string{
			"Dockerfile": "FROM public.ecr.aws/lambda/python:3.12 AS docs\nCOPY docs/ /docs/\nFROM public.ecr.aws/lambda/python:3.12\nCOPY app.py ./\nCMD [\"app.handler\"]\n", "app.py": handler}, nil, nil, nil},
		{"requirements not copied", map[string]string{
			"Dockerfile":       "FROM public.ecr.aws/lambda/python:3.12\nRUN pip install -r requirements.txt -t .\nCOPY app.py ./\nCMD [\"app.handler\"]\n",
			"requirements.txt": "requests\n", "app.py": "import requests\n" + handler}, nil, []string{"requirements-not-copied Dockerfile:2"}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs := analyzeProject(t, c.files, func(in *Input) { in.BuildArgs = c.args })
			if got := codes(fs); !slices.Equal(got, c.want) {
				t.Fatalf("findings %q, want %q\n%+v", got, c.want, fs)
			}
			if c.check != nil {
				c.check(t, fs)
			}
		})
	}
	t.Run("target not found", func(t *testing.T) {
		fs := analyzeProject(t, map[string]string{"Dockerfile": "FROM public.ecr.aws/lambda/python:3.12 AS app\nCMD [\"app.handler\"]\n"}, func(in *Input) { in.Target = "nope" })
		if got := codes(fs); !slices.Equal(got, []string{"target-not-found Dockerfile"}) || !strings.Contains(fs[0].Fix, "`app`") {
			t.Fatalf("%+v", fs)
		}
	})
}

func TestHandler(t *testing.T) {
	for _, c := range []struct {
		name  string
		files map[string]string
		want  []string
		msg   string // in the first finding's message
	}{
		{"shell form", map[string]string{"Dockerfile": "FROM public.ecr.aws/lambda/python:3.12\nCOPY app.py ./\nCMD app.handler\n", "app.py": "def handler(e, c): pass\n"}, nil, ""},
		{"nested module", map[string]string{"Dockerfile": "FROM public.ecr.aws/lambda/python:3.12\nCOPY pkg ./pkg\nCMD [\"pkg.sub.mod.fn\"]\n", "pkg/__init__.py": "", "pkg/sub/__init__.py": "", "pkg/sub/mod.py": "fn = object()\n"}, nil, ""},
		{"slash form", map[string]string{"Dockerfile": "FROM public.ecr.aws/lambda/python:3.12\nCOPY src ./src\nCMD [\"src/app.handler\"]\n", "src/app.py": "async def handler(e, c): pass\n"}, nil, ""},
		{"re-export", map[string]string{"Dockerfile": "FROM public.ecr.aws/lambda/python:3.12\nCOPY . .\nCMD [\"app.handler\"]\n", "app.py": "from impl import handler\n", "impl.py": "def handler(e, c): pass\n"}, nil, ""},
		{"annotated assignment", map[string]string{"Dockerfile": "FROM public.ecr.aws/lambda/python:3.12\nCOPY . .\nCMD [\"app.handler\"]\n", "app.py": "from typing import Any\nhandler: Any = print\n"}, nil, ""},
		{"package __init__", map[string]string{"Dockerfile": "FROM public.ecr.aws/lambda/python:3.12\nCOPY . .\nCMD [\"api.handler\"]\n", "api/__init__.py": "def handler(e, c): pass\n"}, nil, ""},
		{"not found lists the defs", map[string]string{"Dockerfile": "FROM public.ecr.aws/lambda/python:3.12\nCOPY . .\nCMD [\"app.handler\"]\n", "app.py": "def main(e, c): pass\ndef lambda_handler(e, c): pass\nclass Handler: pass\n"},
			[]string{"handler-not-found Dockerfile:3"}, "it defines `main`, `lambda_handler`"},
		{"not found, no defs", map[string]string{"Dockerfile": "FROM public.ecr.aws/lambda/python:3.12\nCOPY . .\nCMD [\"app.handler\"]\n", "app.py": "x = 1\n"},
			[]string{"handler-not-found Dockerfile:3"}, "it defines no function"},
		{"star import is trusted", map[string]string{"Dockerfile": "FROM public.ecr.aws/lambda/python:3.12\nCOPY . .\nCMD [\"app.handler\"]\n", "app.py": "from impl import *\n", "impl.py": ""}, nil, ""},
		{"module not copied", map[string]string{"Dockerfile": "FROM public.ecr.aws/lambda/python:3.12\nCOPY util.py ./\nCMD [\"app.handler\"]\n", "app.py": "def handler(e, c): pass\n", "util.py": ""},
			[]string{"handler-module-missing Dockerfile:3"}, "the Dockerfile does not copy its module app.py into /var/task"},
		{"module copied off sys.path", map[string]string{"Dockerfile": "FROM public.ecr.aws/lambda/python:3.12\nCOPY app.py /app/\nCMD [\"app.handler\"]\n", "app.py": "def handler(e, c): pass\n"},
			[]string{"handler-module-missing Dockerfile:3"}, "is copied to /app/app.py, which is not on the function's sys.path"},
		{"module ignored", map[string]string{"Dockerfile": "FROM public.ecr.aws/lambda/python:3.12\nCOPY src/ ./\nCMD [\"app.handler\"]\n", "src/app.py": "def handler(e, c): pass\n", "src/x.py": "", ".dockerignore": "src/app.py\n"},
			[]string{"handler-module-missing Dockerfile:3"}, "its module src/app.py is excluded from the build context by .dockerignore (pattern `src/app.py`)"},
		{"no CMD", map[string]string{"Dockerfile": "FROM public.ecr.aws/lambda/python:3.12\nCOPY app.py ./\n", "app.py": ""}, []string{"no-handler Dockerfile:1"}, ""},
		{"invalid", map[string]string{"Dockerfile": "FROM public.ecr.aws/lambda/python:3.12\nCOPY app.py ./\nCMD [\"python\", \"app.py\"]\n", "app.py": ""}, []string{"handler-invalid Dockerfile:3"}, ""},
		{"ENTRYPOINT names the handler", map[string]string{
			"Dockerfile": "FROM python:3.12-slim\nWORKDIR /fn\nRUN pip install -t /fn awslambdaric\nCOPY app.py ./\nENTRYPOINT [\"python3\", \"-m\", \"awslambdaric\", \"app.run\"]\n", "app.py": "def handler(e, c): pass\n"},
			[]string{"handler-not-found Dockerfile:5"}, "`app.run`"},
		{"CMD starts the runtime client", map[string]string{
			"Dockerfile": "FROM python:3.12-slim\nWORKDIR /fn\nRUN pip install -t /fn awslambdaric\nCOPY app.py ./\nCMD [\"python\", \"-m\", \"awslambdaric\", \"app.handler\"]\n", "app.py": "def handler(e, c): pass\n"}, nil, ""},
		{"nothing starts the runtime client", map[string]string{
			"Dockerfile": "FROM python:3.12-slim\nWORKDIR /fn\nRUN pip install -t /fn awslambdaric\nCOPY app.py ./\nCMD [\"python\", \"app.py\"]\n", "app.py": ""},
			[]string{"entrypoint-override Dockerfile:5"}, "does not start the runtime interface client"},
		{"an ENTRYPOINT resets the inherited CMD", map[string]string{
			"Dockerfile": "FROM public.ecr.aws/lambda/python:3.12 AS base\nCOPY app.py ./\nCMD [\"app.handler\"]\nFROM base\nENTRYPOINT [\"/lambda-entrypoint.sh\"]\n", "app.py": "def handler(e, c): pass\n"},
			[]string{"no-handler Dockerfile:5"}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs := analyzeProject(t, c.files, nil)
			if got := codes(fs); !slices.Equal(got, c.want) {
				t.Fatalf("findings %q, want %q\n%+v", got, c.want, fs)
			}
			if c.msg != "" && !strings.Contains(fs[0].Message, c.msg) {
				t.Errorf("message %q does not say %q", fs[0].Message, c.msg)
			}
			for _, f := range fs {
				if f.Severity != "error" && f.Code != "entrypoint-override" {
					t.Errorf("%s is a %s", f.Code, f.Severity)
				}
			}
		})
	}
}

func TestImportResolution(t *testing.T) {
	lambda := func(reqs, app string) map[string]string {
		return map[string]string{
			"Dockerfile":       "FROM public.ecr.aws/lambda/python:3.12\nCOPY requirements.txt ./\nRUN pip install -r requirements.txt -t .\nCOPY . .\nCMD [\"app.handler\"]\n",
			"requirements.txt": reqs, "app.py": app + "\ndef handler(e, c): pass\n",
		}
	}
	for _, c := range []struct {
		name  string
		files map[string]string
		env   map[string]string
		want  []string
		sev   []string
		fix   string
	}{
		{"stdlib", lambda("", "import os, sys, json, asyncio, tomllib, zoneinfo, _thread, __future__"), nil, nil, nil, ""},
		{"local module and package", lambda("", "import helpers\nimport pkg.sub\n"), nil, []string{"missing-requirement app.py:1 helpers", "missing-requirement app.py:2 pkg.sub"}, []string{"error", "error"}, "add `helpers` to requirements.txt"},
		{"unknown dist named after the module", lambda("my-lib\n", "import my_lib\nimport yaml\n"), nil, []string{"missing-requirement app.py:2 yaml"}, nil, "add `PyYAML` to requirements.txt"},
		{"transitive", lambda("boto3\nhttpx\n", "import s3transfer, jmespath, httpcore, h11, anyio, certifi"), nil, nil, nil, ""},
		{"extras", lambda("uvicorn[standard]\n", "import uvloop, httptools, websockets, watchfiles, dotenv, yaml, click"), nil, nil, nil, ""},
		{"lazy is a warning", lambda("", "def f():\n    import numpy\n"), nil, []string{"missing-requirement app.py:2 numpy"}, []string{"warning"}, ""},
		{"dynamic is a warning", lambda("", "import importlib\nm = importlib.import_module('numpy')\n"), nil, []string{"missing-requirement app.py:2 numpy"}, []string{"warning"}, ""},
		{"relative never", lambda("", "from . import nothing\nfrom .x import y\n"), nil, nil, nil, ""},
		{"lambda base provides boto3", lambda("", "import boto3, botocore, awslambdaric, six, urllib3, dateutil"), nil, nil, nil, ""},
		{"an env read", lambda("", "import os\nX = os.environ['X']\n"), map[string]string{}, []string{"env-missing app.py:2 X"}, []string{"error"}, "set X in the function's environment"},
		{"duplicates fold", lambda("", "import yaml, yaml\n"), nil, []string{"missing-requirement app.py:1 yaml"}, nil, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			delete(c.files, "helpers.py")
			fs := analyzeProject(t, c.files, func(in *Input) { in.Environment = c.env })
			if got := codes(fs); !slices.Equal(got, c.want) {
				t.Fatalf("findings %q, want %q\n%+v", got, c.want, fs)
			}
			for i, s := range c.sev {
				if fs[i].Severity != s {
					t.Errorf("%s is a %s, want %s", fs[i].Code, fs[i].Severity, s)
				}
			}
			if c.fix != "" && fs[0].Fix != c.fix {
				t.Errorf("fix %q, want %q", fs[0].Fix, c.fix)
			}
		})
	}
	t.Run("local modules resolve", func(t *testing.T) {
		files := lambda("", "import helpers\nimport pkg.sub\nimport ns.part\n")
		files["helpers.py"], files["pkg/__init__.py"], files["pkg/sub.py"], files["ns/part.py"] = "", "", "", ""
		if fs := analyzeProject(t, files, nil); len(fs) != 0 {
			t.Fatalf("%+v", fs)
		}
	})
}
