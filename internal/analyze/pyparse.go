package analyze

import (
	"slices"
	"strconv"
	"strings"
	"sync"
)

// pyFile is what the analyzer learns from one Python file.
type pyFile struct {
	imports []pyImport
	names   []string // the names bound at module level: def, class, assignment, import
	funcs   []string // the module-level def names, in order
	opaque  bool     // `from x import *` or a module __getattr__: any name may exist
	env     []envRead
	errs    []syntaxErr
}

type pyImport struct {
	module   string   // dotted, as written, without the leading dots of a relative import
	level    int      // the leading dots
	names    []string // what a from-import imports
	line     int
	lazy     bool // runs only when a function is called (or under `if __name__ == "__main__"`)
	dynamic  bool // importlib.import_module("...") or __import__("...")
	optional bool // inside a try whose except catches ImportError
}

type envRead struct {
	name string
	line int
}

// stmt is a statement: a simple one (head == "") with its tokens, or a
// compound one with its header's tokens (without the colon) and its body.
type stmt struct {
	head string
	toks []token
	line int
	body []stmt
}

var compoundKeywords = map[string]bool{
	"if": true, "elif": true, "else": true, "try": true, "except": true, "finally": true,
	"for": true, "while": true, "with": true, "def": true, "class": true, "async": true,
}

type stmtParser struct {
	toks []token
	i    int
	errs []syntaxErr
}

// parsePython reads a Python file's imports, module-level names and import
// time environment reads, for the given target Python version.
//
// What it returns holds copies of the strings it keeps, never views of src,
// so that a caller may reuse src's memory.
func parsePython(src, version string) *pyFile {
	buf := tokenPool.Get().(*[]token)
	defer func() {
		clear(*buf)
		tokenPool.Put(buf)
	}()
	toks, errs := lex(src, *buf)
	*buf = toks
	p := &stmtParser{toks: toks, errs: errs}
	body := p.block(false)
	w := &walker{f: &pyFile{}, version: version, osNames: map[string]bool{"os": true},
		importlibNames: map[string]bool{"importlib": true}, environNames: map[string]bool{}, importFuncs: map[string]bool{}}
	w.walk(body, scope{module: true})
	w.f.errs = p.errs
	f := w.f
	for i := range f.imports {
		f.imports[i].module = strings.Clone(f.imports[i].module)
		for j, n := range f.imports[i].names {
			f.imports[i].names[j] = strings.Clone(n)
		}
	}
	for i := range f.names {
		f.names[i] = strings.Clone(f.names[i])
	}
	for i := range f.funcs {
		f.funcs[i] = strings.Clone(f.funcs[i])
	}
	for i := range f.env {
		f.env[i].name = strings.Clone(f.env[i].name)
	}
	return f
}

// tokenPool recycles token slices between files.
var tokenPool = sync.Pool{New: func() any { return new([]token) }}

func (p *stmtParser) errorf(line int, msg string) {
	p.errs = append(p.errs, syntaxErr{line, msg})
}

// block parses statements up to the DEDENT that closes the block (nested)
// or the end of the tokens.
func (p *stmtParser) block(nested bool) []stmt {
	var out []stmt
	for p.i < len(p.toks) {
		switch p.toks[p.i].kind {
		case tDedent:
			p.i++
			if nested {
				return out
			}
			continue
		case tIndent:
			p.errorf(p.toks[p.i].line, "unexpected indent")
			p.i++
			out = append(out, p.block(true)...) // read on, as if it were not indented
			continue
		case tNewline:
			p.i++
			continue
		}
		j := p.i
		for j < len(p.toks) && p.toks[j].kind != tNewline {
			j++
		}
		line := p.toks[p.i:j]
		p.i = min(j+1, len(p.toks))
		out = p.logical(line, out)
	}
	return out
}

// logical appends a logical line's statements to out.
func (p *stmtParser) logical(line []token, out []stmt) []stmt {
	head := ""
	if line[0].kind == tName && compoundKeywords[line[0].text] {
		head = line[0].text
	} else if line[0].kind == tName && (line[0].text == "match" || line[0].text == "case") &&
		len(line) > 2 && isOp(line[len(line)-1], ":") && !isOp(line[1], "=") && !isOp(line[1], ".") {
		head = line[0].text
	}
	if head == "" {
		return simpleStmts(line, out)
	}
	colon := headerColon(line)
	if colon < 0 {
		p.errorf(line[0].line, "expected ':'")
		return simpleStmts(line, out)
	}
	s := stmt{head: head, toks: line[:colon], line: line[0].line}
	if colon < len(line)-1 {
		s.body = simpleStmts(line[colon+1:], nil)
	} else if p.i < len(p.toks) && p.toks[p.i].kind == tIndent {
		p.i++
		s.body = p.block(true)
	} else {
		p.errorf(line[0].line, "expected an indented block after '"+head+"' statement on line "+strconv.Itoa(line[0].line))
	}
	return append(out, s)
}

// headerColon finds the colon that ends a compound statement's header: the
// first one outside brackets that does not belong to a lambda.
func headerColon(line []token) int {
	depth, lambdas := 0, 0
	for i, t := range line {
		if t.kind == tName && t.text == "lambda" && depth == 0 {
			lambdas++
		}
		if t.kind != tOp {
			continue
		}
		switch t.text {
		case "(", "[", "{":
			depth++
		case ")", "]", "}":
			depth = max(depth-1, 0)
		case ":":
			if depth == 0 {
				if lambdas > 0 {
					lambdas--
				} else {
					return i
				}
			}
		}
	}
	return -1
}

// simpleStmts splits a logical line at its semicolons, appending to out.
func simpleStmts(line []token, out []stmt) []stmt {
	depth, start := 0, 0
	for i := 0; i <= len(line); i++ {
		if i < len(line) && line[i].kind == tOp {
			switch line[i].text {
			case "(", "[", "{":
				depth++
			case ")", "]", "}":
				depth = max(depth-1, 0)
			}
		}
		if i == len(line) || depth == 0 && isOp(line[i], ";") {
			if i > start {
				out = append(out, stmt{toks: line[start:i], line: line[start].line})
			}
			start = i + 1
		}
	}
	return out
}

func isOp(t token, op string) bool    { return t.kind == tOp && t.text == op }
func isName(t token, n string) bool   { return t.kind == tName && t.text == n }
func isNumber(t token, n string) bool { return t.kind == tNumber && t.text == n }
func tokAt(ts []token, i int) token {
	if i < len(ts) {
		return ts[i]
	}
	return token{}
}

// scope is where a statement runs.
type scope struct {
	module    bool // directly at module level (also inside if/try/with/for there): binds module names
	inDef     bool // inside a function body
	lazy      bool // runs only when called: a function body, or under `if __name__ == "__main__"`
	main      bool // under `if __name__ == "__main__"`
	optional  bool // an ImportError is caught
	keyCaught bool // a KeyError is caught
}

type walker struct {
	f              *pyFile
	version        string
	osNames        map[string]bool // names bound to the os module
	environNames   map[string]bool // names bound to os.environ
	importlibNames map[string]bool // names bound to importlib
	importFuncs    map[string]bool // names bound to importlib.import_module
}

func (w *walker) walk(body []stmt, sc scope) {
	for i := 0; i < len(body); i++ {
		s := &body[i]
		switch s.head {
		case "":
			w.simple(s, sc)
		case "def", "class", "async":
			ts := s.toks
			if s.head == "async" {
				ts = ts[1:]
				if len(ts) == 0 || !isName(ts[0], "def") {
					w.expr(s.toks, sc)
					w.walk(s.body, sc)
					continue
				}
			}
			if name := tokAt(ts, 1); name.kind == tName && sc.module {
				w.bind(name.text)
				if !isName(ts[0], "class") {
					w.f.funcs = append(w.f.funcs, name.text)
					if name.text == "__getattr__" {
						w.f.opaque = true
					}
				}
			}
			w.expr(ts, sc) // decorators are statements of their own; defaults and bases run now
			inner := sc
			inner.module = false
			if isName(ts[0], "def") {
				inner.inDef, inner.lazy = true, true
			}
			w.walk(s.body, inner)
		case "try":
			j := i + 1
			imports, keys := false, false
			for ; j < len(body) && (body[j].head == "except" || body[j].head == "else" || body[j].head == "finally"); j++ {
				if body[j].head == "except" {
					imp, key := catches(body[j].toks[1:])
					imports, keys = imports || imp, keys || key
				}
			}
			inner := sc
			inner.optional = sc.optional || imports
			inner.keyCaught = sc.keyCaught || keys
			w.walk(s.body, inner)
			for k := i + 1; k < j; k++ {
				w.expr(body[k].toks, sc)
				w.walk(body[k].body, sc)
			}
			i = j - 1
		case "if":
			j := i + 1
			for j < len(body) && (body[j].head == "elif" || body[j].head == "else") {
				j++
			}
			taken := false // an earlier branch is certainly taken: the rest is dead
			for k := i; k < j && !taken; k++ {
				b := &body[k]
				if b.head == "else" {
					w.walk(b.body, sc)
					break
				}
				cond := b.toks[1:]
				switch w.condition(cond) {
				case condTypeChecking, condFalse:
					continue
				case condTrue:
					taken = true
				case condMain:
					inner := sc
					inner.main, inner.lazy = true, true
					w.expr(cond, sc)
					w.walk(b.body, inner)
					continue
				}
				w.expr(cond, sc)
				w.walk(b.body, sc)
			}
			i = j - 1
		case "with":
			inner := sc
			if suppressesImportError(s.toks) {
				inner.optional = true
			}
			w.expr(s.toks, sc)
			w.walk(s.body, inner)
		default: // for, while, match, case, and a stray elif/else/except/finally
			w.expr(s.toks, sc)
			w.walk(s.body, sc)
		}
	}
}

// catches reports whether an except clause's types catch an ImportError, and
// a KeyError.
func catches(ts []token) (imports, keys bool) {
	if len(ts) > 0 && isOp(ts[0], "*") {
		ts = ts[1:]
	}
	if len(ts) == 0 {
		return true, true // bare except:
	}
	for _, t := range ts {
		if isName(t, "as") {
			break
		}
		if t.kind == tName {
			switch t.text {
			case "ImportError", "ModuleNotFoundError":
				imports = true
			case "KeyError", "LookupError":
				keys = true
			case "Exception", "BaseException":
				imports, keys = true, true
			}
		}
	}
	return imports, keys
}

func suppressesImportError(ts []token) bool {
	suppress := false
	for _, t := range ts {
		if isName(t, "suppress") {
			suppress = true
		}
		if suppress && t.kind == tName && (t.text == "ImportError" || t.text == "ModuleNotFoundError" || t.text == "Exception") {
			return true
		}
	}
	return false
}

func (w *walker) bind(name string) {
	if !slices.Contains(w.f.names, name) {
		w.f.names = append(w.f.names, name)
	}
}

func (w *walker) simple(s *stmt, sc scope) {
	ts := s.toks
	switch {
	case isName(ts[0], "import"):
		w.importStmt(ts[1:], sc)
	case isName(ts[0], "from"):
		w.fromStmt(ts[1:], sc)
	default:
		if sc.module {
			w.assignment(ts)
		}
		w.expr(ts, sc)
	}
}

// dotted reads a dotted name at ts[i:], returning it and the index after it.
func dotted(ts []token, i int) (string, int) {
	var parts []string
	for i < len(ts) && ts[i].kind == tName {
		parts = append(parts, ts[i].text)
		i++
		if i < len(ts) && isOp(ts[i], ".") && i+1 < len(ts) && ts[i+1].kind == tName {
			i++
			continue
		}
		break
	}
	return strings.Join(parts, "."), i
}

func (w *walker) importStmt(ts []token, sc scope) {
	for i := 0; i < len(ts); {
		mod, j := dotted(ts, i)
		if mod == "" {
			return
		}
		bound := strings.SplitN(mod, ".", 2)[0]
		if isName(tokAt(ts, j), "as") && tokAt(ts, j+1).kind == tName {
			bound = ts[j+1].text
			j += 2
		}
		w.f.imports = append(w.f.imports, pyImport{module: mod, line: ts[i].line, lazy: sc.lazy, optional: sc.optional})
		if mod == "os" {
			w.osNames[bound] = true
		} else if mod == "importlib" {
			w.importlibNames[bound] = true
		}
		if sc.module {
			w.bind(bound)
		}
		i = j
		if !isOp(tokAt(ts, i), ",") {
			return
		}
		i++
	}
}

func (w *walker) fromStmt(ts []token, sc scope) {
	level, i := 0, 0
	for ; i < len(ts) && (isOp(ts[i], ".") || isOp(ts[i], "...")); i++ {
		level += len(ts[i].text)
	}
	mod := ""
	if !isName(tokAt(ts, i), "import") {
		mod, i = dotted(ts, i)
	}
	if !isName(tokAt(ts, i), "import") || mod == "" && level == 0 {
		return
	}
	imp := pyImport{module: mod, level: level, line: ts[0].line, lazy: sc.lazy, optional: sc.optional}
	for i++; i < len(ts); i++ {
		t := ts[i]
		switch {
		case isOp(t, "*"):
			if sc.module {
				w.f.opaque = true
			}
		case t.kind == tName:
			bound := t.text
			if isName(tokAt(ts, i+1), "as") && tokAt(ts, i+2).kind == tName {
				bound = ts[i+2].text
				i += 2
			}
			imp.names = append(imp.names, t.text)
			if level == 0 && mod == "os" && t.text == "environ" {
				w.environNames[bound] = true
			}
			if level == 0 && mod == "importlib" && t.text == "import_module" {
				w.importFuncs[bound] = true
			}
			if sc.module {
				w.bind(bound)
			}
		}
	}
	w.f.imports = append(w.f.imports, imp)
}

// assignment binds the targets of `a = b = ...`, `a, b = ...` and `a: T = ...`.
func (w *walker) assignment(ts []token) {
	depth, start := 0, 0
	var targets [][]token
	for i, t := range ts {
		if t.kind != tOp {
			continue
		}
		switch t.text {
		case "(", "[", "{":
			depth++
		case ")", "]", "}":
			depth = max(depth-1, 0)
		case "=":
			if depth == 0 {
				targets = append(targets, ts[start:i])
				start = i + 1
			}
		}
	}
	for _, target := range targets {
		if len(target) >= 2 && target[0].kind == tName && isOp(target[1], ":") {
			w.bind(target[0].text) // annotated
			continue
		}
		names := true
		for k, t := range target {
			if k%2 == 0 && t.kind != tName || k%2 == 1 && !isOp(t, ",") {
				names = false
			}
		}
		if t := target; len(t) > 2 && isOp(t[0], "(") && isOp(t[len(t)-1], ")") || len(t) > 2 && isOp(t[0], "[") && isOp(t[len(t)-1], "]") {
			names = true
			for k, u := range t[1 : len(t)-1] {
				if k%2 == 0 && u.kind != tName || k%2 == 1 && !isOp(u, ",") {
					names = false
				}
			}
		}
		if !names {
			continue
		}
		for _, t := range target {
			if t.kind == tName {
				w.bind(t.text)
			}
		}
	}
}

// expr scans a statement's tokens for dynamic imports and for environment
// reads that run at import time.
func (w *walker) expr(ts []token, sc scope) {
	importTime := !sc.inDef && !sc.main && !sc.keyCaught && !(len(ts) > 0 && isName(ts[0], "del"))
	depth, lambdaAt := 0, -1
	for i := 0; i < len(ts); i++ {
		t := ts[i]
		if t.kind == tOp {
			switch t.text {
			case "(", "[", "{":
				depth++
			case ")", "]", "}":
				depth--
				if depth < lambdaAt {
					lambdaAt = -1
				}
			case ",":
				if depth == lambdaAt {
					lambdaAt = -1
				}
			}
			continue
		}
		if t.kind != tName {
			continue
		}
		if t.text == "lambda" && lambdaAt < 0 {
			lambdaAt = depth
		}
		next := tokAt(ts, i+1)
		if next.kind != tOp || next.text != "." && next.text != "(" && next.text != "[" {
			continue // neither a call, an attribute nor a subscript
		}
		// importlib.import_module("m"), import_module("m"), __import__("m")
		call := -1
		switch {
		case next.text == "." && w.importlibNames[t.text] && isName(tokAt(ts, i+2), "import_module"):
			call = i + 3
		case next.text == "(" && (t.text == "__import__" || w.importFuncs[t.text]):
			call = i + 1
		}
		if call > 0 && (i == 0 || !isOp(ts[i-1], ".")) && isOp(tokAt(ts, call), "(") {
			if mod, ok := stringValue(tokAt(ts, call+1)); ok && validModule(mod) {
				if next := tokAt(ts, call+2); isOp(next, ",") || isOp(next, ")") {
					w.f.imports = append(w.f.imports, pyImport{module: mod, line: t.line, lazy: sc.lazy, dynamic: true, optional: sc.optional})
				}
			}
		}
		// os.environ["X"], environ["X"]; not a store or a del
		if !importTime || lambdaAt >= 0 || i > 0 && isOp(ts[i-1], ".") {
			continue
		}
		sub := -1
		switch {
		case next.text == "." && w.osNames[t.text] && isName(tokAt(ts, i+2), "environ"):
			sub = i + 3
		case next.text == "[" && w.environNames[t.text]:
			sub = i + 1
		}
		if sub > 0 && isOp(tokAt(ts, sub), "[") && isOp(tokAt(ts, sub+2), "]") && !isOp(tokAt(ts, sub+3), "=") {
			if name, ok := stringValue(tokAt(ts, sub+1)); ok && name != "" {
				w.f.env = append(w.f.env, envRead{name: name, line: t.line})
			}
		}
	}
}

// validModule reports whether s is an absolute dotted module name.
func validModule(s string) bool {
	if s == "" {
		return false
	}
	for _, part := range strings.Split(s, ".") {
		if part == "" || !isIdentStart(part[0]) || isDigit(part[0]) {
			return false
		}
		for i := 0; i < len(part); i++ {
			if !isIdentChar(part[i]) {
				return false
			}
		}
	}
	return true
}

type condResult int

const (
	condUnknown condResult = iota
	condTrue
	condFalse
	condTypeChecking
	condMain
)

// condition evaluates what an if's condition can be known to be statically:
// TYPE_CHECKING, the __main__ guard, and comparisons of sys.version_info
// and sys.platform / os.name against the target (Linux, version).
func (w *walker) condition(ts []token) condResult {
	if len(ts) > 0 && isName(ts[0], "not") {
		switch w.condition(ts[1:]) {
		case condTrue:
			return condFalse
		case condFalse, condTypeChecking:
			return condTrue
		}
		return condUnknown
	}
	if len(ts) == 1 && isName(ts[0], "TYPE_CHECKING") ||
		len(ts) == 3 && ts[0].kind == tName && isOp(ts[1], ".") && isName(ts[2], "TYPE_CHECKING") {
		return condTypeChecking
	}
	if len(ts) == 3 && isOp(ts[1], "==") {
		a, _ := stringValue(ts[2])
		b, _ := stringValue(ts[0])
		if isName(ts[0], "__name__") && a == "__main__" || isName(ts[2], "__name__") && b == "__main__" {
			return condMain
		}
	}
	// sys.platform == "linux", os.name == "nt", sys.platform.startswith("win")
	if len(ts) >= 3 && ts[0].kind == tName && isOp(ts[1], ".") && (isName(ts[0], "sys") && isName(ts[2], "platform") || w.osNames[ts[0].text] && isName(ts[2], "name")) {
		actual := "linux"
		if ts[2].text == "name" {
			actual = "posix"
		}
		rest := ts[3:]
		if len(rest) == 2 && (isOp(rest[0], "==") || isOp(rest[0], "!=")) {
			if v, ok := stringValue(rest[1]); ok {
				return boolCond((v == actual) == (rest[0].text == "=="))
			}
		}
		if len(rest) == 5 && isOp(rest[0], ".") && isName(rest[1], "startswith") && isOp(rest[2], "(") && isOp(rest[4], ")") {
			if v, ok := stringValue(rest[3]); ok {
				return boolCond(strings.HasPrefix(actual, v))
			}
		}
		return condUnknown
	}
	// sys.version_info OP (3, N), optionally with [:2]
	if len(ts) >= 4 && isName(ts[0], "sys") && isOp(ts[1], ".") && isName(ts[2], "version_info") {
		rest, sliced := ts[3:], false
		if len(rest) > 4 && isOp(rest[0], "[") && isOp(rest[1], ":") && isNumber(rest[2], "2") && isOp(rest[3], "]") {
			rest, sliced = rest[4:], true
		}
		if len(rest) < 3 || rest[0].kind != tOp || !isOp(rest[1], "(") || !isOp(rest[len(rest)-1], ")") {
			return condUnknown
		}
		var want []int
		for k, t := range rest[2 : len(rest)-1] {
			if k%2 == 1 {
				if !isOp(t, ",") {
					return condUnknown
				}
				continue
			}
			n, err := strconv.Atoi(t.text)
			if t.kind != tNumber || err != nil {
				return condUnknown
			}
			want = append(want, n)
		}
		major, minor, ok := splitVersion(w.version)
		if len(want) == 0 || len(want) > 2 || !ok {
			return condUnknown
		}
		c := slices.Compare([]int{major, minor}[:len(want)], want)
		if c == 0 && !(sliced && len(want) == 2) {
			c = 1 // the actual tuple goes on: (3, 11, 7, ...) > (3, 11)
		}
		switch rest[0].text {
		case ">=":
			return boolCond(c >= 0)
		case ">":
			return boolCond(c > 0)
		case "<":
			return boolCond(c < 0)
		case "<=":
			return boolCond(c <= 0)
		case "==":
			return boolCond(c == 0)
		case "!=":
			return boolCond(c != 0)
		}
	}
	return condUnknown
}

func boolCond(b bool) condResult {
	if b {
		return condTrue
	}
	return condFalse
}

func splitVersion(v string) (major, minor int, ok bool) {
	a, b, found := strings.Cut(v, ".")
	x, err1 := strconv.Atoi(a)
	y, err2 := strconv.Atoi(b)
	return x, y, found && err1 == nil && err2 == nil
}
