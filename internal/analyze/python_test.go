package analyze

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// imp renders an import for comparison: "[.]module[(names)] flags".
func (i pyImport) String() string {
	s := strings.Repeat(".", i.level) + i.module
	if len(i.names) > 0 {
		s += "(" + strings.Join(i.names, ",") + ")"
	}
	for flag, on := range map[string]bool{" lazy": i.lazy, " dynamic": i.dynamic, " optional": i.optional} {
		if on {
			s += flag
		}
	}
	// map order: normalise
	parts := strings.Fields(s)
	slices.Sort(parts[1:])
	return fmt.Sprintf("%d:%s", i.line, strings.Join(parts, " "))
}

func importsOf(f *pyFile) []string {
	var out []string
	for _, i := range f.imports {
		out = append(out, i.String())
	}
	return out
}

func TestPythonImports(t *testing.T) {
	for _, c := range []struct {
		name, src string
		want      []string
	}{
		{"import as", "import a.b as c\n", []string{"1:a.b"}},
		{"import list", "import a, b.c, d as e\n", []string{"1:a", "1:b.c", "1:d"}},
		{"from", "from a.b import x, y as z\n", []string{"1:a.b(x,y)"}},
		{"from parenthesised", "from a import (\n    x,\n    y,  # why\n)\nimport b\n", []string{"1:a(x,y)", "5:b"}},
		{"from star", "from a import *\n", []string{"1:a"}},
		{"relative", "from . import x\nfrom .m import y\nfrom ..p.q import r\n", []string{"1:.(x)", "2:.m(y)", "3:..p.q(r)"}},
		{"relative ellipsis token", "from ... import up\n", []string{"1:...(up)"}},
		{"future", "from __future__ import annotations\n", []string{"1:__future__(annotations)"}},
		{"semicolons", "import a; import b; x = 1\n", []string{"1:a", "1:b"}},
		{"backslash", "import a, \\\n    b\n", []string{"1:a", "2:b"}},
		{"def body is lazy", "def f():\n    import a\n    def g():\n        from b import c\n", []string{"2:a lazy", "4:b(c) lazy"}},
		{"async def body is lazy", "async def f():\n    import a\n", []string{"2:a lazy"}},
		{"class body runs at import", "class C:\n    import a\n    def m(self):\n        import b\n", []string{"2:a", "4:b lazy"}},
		{"main guard is lazy", "if __name__ == '__main__':\n    import uvicorn\n", []string{"2:uvicorn lazy"}},
		{"main guard reversed", "if \"__main__\" == __name__:\n    import uvicorn\nelse:\n    import app\n", []string{"2:uvicorn lazy", "4:app"}},
		{"dynamic", "import importlib\nm = importlib.import_module('x.y')\nn = __import__(\"z\")\n", []string{"1:importlib", "2:x.y dynamic", "3:z dynamic"}},
		{"dynamic alias", "from importlib import import_module as im\nim('x')\n", []string{"1:importlib(import_module)", "2:x dynamic"}},
		{"dynamic non-constant", "import importlib\nimportlib.import_module(name)\nimportlib.import_module('a' + b)\nimportlib.import_module(f'x')\nimportlib.import_module('.rel', 'pkg')\n", []string{"1:importlib"}},
		{"dynamic in def", "def f():\n    importlib.import_module('x')\n", []string{"2:x dynamic lazy"}},
		{"not a dynamic import", "obj.importlib.import_module('x')\nobj.__import__('y')\n", nil},
		{"try ImportError", "try:\n    import a\nexcept ImportError:\n    import b\n", []string{"2:a optional", "4:b"}},
		{"try ModuleNotFoundError tuple", "try:\n    import a\nexcept (ValueError, ModuleNotFoundError) as e:\n    pass\n", []string{"2:a optional"}},
		{"try bare except", "try:\n    import a\nexcept:\n    pass\n", []string{"2:a optional"}},
		{"try Exception", "try:\n    import a\nexcept Exception:\n    pass\nfinally:\n    import c\n", []string{"2:a optional", "6:c"}},
		{"try other exception", "try:\n    import a\nexcept ValueError:\n    pass\n", []string{"2:a"}},
		{"try else is not guarded", "try:\n    import a\nexcept ImportError:\n    pass\nelse:\n    import b\n", []string{"2:a optional", "6:b"}},
		{"try one line", "try: import a\nexcept ImportError: a = None\n", []string{"1:a optional"}},
		{"suppress", "with contextlib.suppress(ImportError):\n    import a\nwith open('f') as f:\n    import b\n", []string{"2:a optional", "4:b"}},
		{"TYPE_CHECKING", "if TYPE_CHECKING:\n    import a\nif typing.TYPE_CHECKING:\n    import b\nelse:\n    import c\n", []string{"6:c"}},
		{"not TYPE_CHECKING", "if not TYPE_CHECKING:\n    import a\n", []string{"2:a"}},
		{"version true", "if sys.version_info >= (3, 11):\n    import tomllib\nelse:\n    import tomli\n", []string{"2:tomllib"}},
		{"version false", "if sys.version_info < (3, 11):\n    import tomli\nelif sys.version_info[:2] == (3, 12):\n    import here\nelse:\n    import there\n", []string{"4:here"}},
		{"version major only", "if sys.version_info > (3,):\n    import a\nelse:\n    import b\n", []string{"2:a"}},
		{"platform", "if sys.platform == 'win32':\n    import winreg\nif sys.platform.startswith('linux'):\n    import fcntl\nif os.name != 'nt':\n    import pwd\n", []string{"4:fcntl", "6:pwd"}},
		{"unknown condition keeps both", "if flag:\n    import a\nelse:\n    import b\n", []string{"2:a", "4:b"}},
		{"strings are not code", "s = 'import a'\nt = \"\"\"\nimport b\n\"\"\"\nu = f\"{x} import c {'import d'}\"\n# import e\n", nil},
		{"nested f-string", "x = f\"{f'{y}'} {\"import z\"}\"\nimport a\n", []string{"2:a"}},
		{"f-string format spec", "x = f'{v:>{w}} {v!r:^10}' ; import a\n", []string{"1:a"}},
		{"f-string quote in spec", "x = f\"{v:'>10}\"\nimport a\n", []string{"2:a"}},
		{"raw and bytes", "r = r'\\'import a'\nb = b'import b'\nimport c\n", []string{"3:c"}},
		{"escaped quote", "s = 'it\\'s'\nimport a\n", []string{"2:a"}},
		{"triple with quotes inside", "s = '''a ' b '' c'''\nimport a\n", []string{"2:a"}},
		{"decorated def", "@app.get('/x')\ndef f():\n    import a\n", []string{"3:a lazy"}},
		{"lambda header colon", "if (lambda: 1)():\n    import a\n", []string{"2:a"}},
		{"match statement", "match x:\n    case 1:\n        import a\n    case _:\n        pass\n", []string{"3:a"}},
		{"match as a name", "match = re.match('a', s)\nimport b\n", []string{"2:b"}},
		{"dotted keyword names", "import a.b.c\nfrom x.y.z import w\n", []string{"1:a.b.c", "2:x.y.z(w)"}},
		{"crlf", "import a\r\nimport b\r\n", []string{"1:a", "2:b"}},
		{"bom", "\ufeffimport a\n", []string{"1:a"}},
		{"no newline at end", "import a", []string{"1:a"}},
		{"comment continuation", "x = (1,  # (\n     2)\nimport a\n", []string{"3:a"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := parsePython(c.src, "3.12")
			if got := importsOf(f); !slices.Equal(got, c.want) {
				t.Errorf("imports of\n%s\ngot  %q\nwant %q", c.src, got, c.want)
			}
			if len(f.errs) > 0 {
				t.Errorf("unexpected syntax errors: %v", f.errs)
			}
		})
	}
}

func TestPythonSyntaxErrors(t *testing.T) {
	for _, c := range []struct {
		name, src string
		line      int
		msg       string
		imports   []string // what is still read
	}{
		{"unterminated string", "import a\nx = 'abc\nimport b\n", 2, "unterminated string literal", []string{"1:a", "3:b"}},
		{"unterminated triple", "import a\nx = \"\"\"abc\nimport b\n", 2, "unterminated triple-quoted string", []string{"1:a"}},
		{"unterminated f-string field", "x = f'{a'\nimport b\n", 1, "unterminated", []string{"2:b"}},
		{"never closed", "import a\nx = foo(1,\n\ndef f():\n    import b\n", 2, "'(' was never closed", []string{"1:a", "5:b lazy"}},
		{"never closed at end", "import a\nx = [1, 2\n", 2, "'[' was never closed", []string{"1:a"}},
		{"unmatched", "import a\nx = 1)\nimport b\n", 2, "unmatched ')'", []string{"1:a", "3:b"}},
		{"mismatched", "x = (1]\nimport b\n", 1, "does not match", []string{"2:b"}},
		{"bad dedent", "def f():\n        x = 1\n    import a\n", 3, "unindent does not match", []string{"3:a lazy"}},
		{"unexpected indent", "import a\n    import b\n", 2, "unexpected indent", []string{"1:a", "2:b"}},
		{"expected indent", "def f():\nimport a\n", 1, "expected an indented block", []string{"2:a"}},
		{"missing colon", "if x\n    import a\n", 1, "expected ':'", []string{"2:a"}},
		{"tabs after spaces", "if x:\n        import a\n\timport b\n", 3, "inconsistent use of tabs and spaces", []string{"2:a", "3:b"}},
		{"stray backslash", "x = 1 \\ 2\nimport a\n", 1, "line continuation", []string{"2:a"}},
		{"invalid character", "x = $y\nimport a\n", 1, "invalid character", []string{"2:a"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := parsePython(c.src, "3.12")
			if len(f.errs) == 0 {
				t.Fatalf("no syntax error in\n%s", c.src)
			}
			first := slices.MinFunc(f.errs, func(x, y syntaxErr) int { return x.line - y.line })
			if first.line != c.line || !strings.Contains(first.msg, c.msg) {
				t.Errorf("first error %d: %s; want line %d: %s (all: %v)", first.line, first.msg, c.line, c.msg, f.errs)
			}
			if got := importsOf(f); !slices.Equal(got, c.imports) {
				t.Errorf("imports read: %q, want %q", got, c.imports)
			}
		})
	}
}

func TestPythonNames(t *testing.T) {
	src := `import os
import a.b
import c as d
from e import f, g as h
from m import *
def handler(event, context): pass
async def ahandler(event, context): pass
class Klass: pass
x = y = 1
p, q = 1, 2
(r, s) = 3, 4
ann: int = 5
bare: int
t[0] = 1
u.v = 2
w == 3
if cond:
    in_if = 1
try:
    in_try = 1
except ImportError:
    in_except = 1
def f():
    local = 1
class C:
    attr = 1
if TYPE_CHECKING:
    typing_only = 1
`
	f := parsePython(src, "3.12")
	want := []string{"os", "a", "d", "f", "h", "handler", "ahandler", "Klass", "x", "y", "p", "q", "r", "s", "ann", "in_if", "in_try", "in_except", "C"}
	if !slices.Equal(f.names, want) {
		t.Errorf("names %q\nwant  %q", f.names, want)
	}
	if !slices.Equal(f.funcs, []string{"handler", "ahandler", "f"}) {
		t.Errorf("funcs %q", f.funcs)
	}
	if !f.opaque {
		t.Error("a star import makes the names unknowable")
	}
	if g := parsePython("def __getattr__(name):\n    return name\n", "3.12"); !g.opaque {
		t.Error("a module __getattr__ makes the names unknowable")
	}
}

func TestPythonEnv(t *testing.T) {
	src := `import os
import os as o
from os import environ
from os import environ as env
A = os.environ["A"]
B = o.environ['B']
C = environ["C"]
D = env["D"]
os.environ["SET"] = "1"
del os.environ["DEL"]
E = os.environ.get("E")
F = os.getenv("F")
G = os.environ[name]
x = {"h": os.environ["H"]}
cb = lambda: os.environ["LAMBDA"]
try:
    I = os.environ["I"]
except KeyError:
    I = None
def f(default=os.environ["DEFAULT"]):
    return os.environ["INSIDE"]
class K:
    J = os.environ["J"]
if __name__ == "__main__":
    M = os.environ["MAIN"]
os.environ["AUG"] += "x"
`
	f := parsePython(src, "3.12")
	var got []string
	for _, e := range f.env {
		got = append(got, fmt.Sprintf("%d:%s", e.line, e.name))
	}
	want := []string{"5:A", "6:B", "7:C", "8:D", "14:H", "20:DEFAULT", "23:J", "26:AUG"}
	if !slices.Equal(got, want) {
		t.Errorf("env reads %q\nwant      %q", got, want)
	}
}

func TestPythonDeepNesting(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 500; i++ {
		b.WriteString(strings.Repeat(" ", i) + "if x:\n")
	}
	b.WriteString(strings.Repeat(" ", 500) + "import deep\n")
	f := parsePython(b.String(), "3.12")
	if len(f.errs) == 0 || !strings.Contains(f.errs[0].msg, "too many levels of indentation") {
		t.Errorf("errors %v", f.errs)
	}
	if got := importsOf(f); !slices.Equal(got, []string{"501:deep"}) {
		t.Errorf("imports %q", got)
	}
}
