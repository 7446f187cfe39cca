// Package analyze is the preflight check of a Python Lambda build context:
// it resolves every import of the code the Dockerfile copies into the image
// against the standard library, local modules and the declared requirements,
// checks that the handler named by CMD exists, lints the Dockerfile for
// Lambda, and reports findings with file, line and fix. It needs no Python
// interpreter.
package analyze

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/lambdacontainer/pulumi-lambdacontainer/internal/pyindex"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"
)

// Finding is one problem found, or a note.
type Finding struct {
	Severity string `json:"severity"`         // "error", "warning" or "info"
	Code     string `json:"code"`             // stable kebab-case id, e.g. "missing-requirement", "handler-not-found", "syntax-error"
	Message  string `json:"message"`          // what is wrong, one sentence, naming the module / file
	File     string `json:"file,omitempty"`   // relative to the context, slash-separated; "" when none (e.g. the function's environment)
	Line     int    `json:"line,omitempty"`   // from 1; 0 when none
	Fix      string `json:"fix,omitempty"`    // the fix, concrete: "add `PyYAML` to requirements.txt"
	Module   string `json:"module,omitempty"` // for import findings: the dotted import name as written; for env-missing: the variable; else ""
}

// Input is a build context to check.
type Input struct {
	Context     string            // absolute path of the build context
	Dockerfile  string            // absolute path of the Dockerfile (inside Context, possibly ignored by .dockerignore but always sent)
	Files       []string          // the paths BuildKit sends after ignore files: regular files and symlinks, relative, slash-separated (from internal/source's Tree.Paths())
	BuildArgs   map[string]string // ARG values
	Target      string            // the stage built; "" = the last
	Environment map[string]string // the function's environment variables; nil = unknown (then skip the environment check, with no finding)
	CacheDir    string            // where results are cached; "" = no cache
	CacheKey    string            // the context's source hash (e.g. "blake3:..."); with CacheDir, a result for the same key and the same other inputs is served from the cache
}

// Analyze checks a build context. Its error is only for I/O failures and a
// cancelled ctx; the findings are sorted by file, line and code.
func Analyze(ctx context.Context, in Input) ([]Finding, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !filepath.IsAbs(in.Dockerfile) {
		in.Dockerfile = filepath.Join(in.Context, in.Dockerfile)
	}
	rel, err := filepath.Rel(in.Context, in.Dockerfile)
	if err != nil {
		return nil, err
	}
	rel = filepath.ToSlash(rel)
	if strings.HasPrefix(rel, "../") {
		rel = filepath.Base(in.Dockerfile) // never an absolute or outside path in a finding
	}
	key := cacheKey(&in, rel)
	if f, ok := readCache(in.CacheDir, key); ok {
		return f, nil
	}
	a := &analysis{in: &in, rel: rel}
	if err := a.run(ctx); err != nil {
		return nil, err
	}
	out := finish(a.findings)
	writeCache(in.CacheDir, key, out)
	return out, nil
}

// analysis holds one run's state.
type analysis struct {
	in       *Input
	rel      string
	files    *fileSet
	df       *dockerfile
	final    *image
	version  string
	sysPath  []string
	mods     map[string]module // dotted module name -> where the image has it
	pkgs     map[string]bool   // dotted names of directories on sys.path (packages, namespace packages)
	units    []unit            // the Python files to read
	provided map[string]bool   // import names the installed distributions provide, with their namespace parents
	exact    map[string]bool   // the same without the parents
	fixFile  string            // where a missing requirement goes
	poetry   bool              // fixFile is a Poetry pyproject.toml
	pipLine  int               // the pip install to extend, when it names packages only
	ric      bool              // something installs awslambdaric
	findings []Finding
}

type module struct {
	file string // image path
	ctx  string // context path; "" when the contents are unknown
	pkg  bool   // an __init__.py
}

type unit struct {
	ctx    string // context path
	module string // dotted module name in the image
	pkg    bool   // an __init__.py
	py     *pyFile
	reach  bool // the handler imports it, directly or not
}

func (a *analysis) add(f Finding) { a.findings = append(a.findings, f) }

func (a *analysis) run(ctx context.Context) error {
	var err error
	if a.files, err = newFileSet(a.in.Context, a.in.Files, a.rel); err != nil {
		return err
	}
	data, err := os.ReadFile(a.in.Dockerfile)
	if err != nil {
		return err
	}
	a.df = readDockerfile(a.in, a.rel, data, a.files)
	for i, f := range a.df.findings {
		if s := a.df.stageOf[i]; s < 0 || a.df.fatal || a.df.needed[s] {
			a.add(f)
		}
	}
	if a.df.fatal {
		return nil
	}
	a.final = a.df.images[a.df.target]
	if err := a.requirements(); err != nil {
		return err
	}
	a.lint()
	a.layout()
	if err := a.parse(ctx); err != nil {
		return err
	}
	a.handler()
	a.imports()
	a.environment()
	for _, u := range a.units {
		if len(u.py.errs) == 0 {
			continue
		}
		// Python stops at the first error; the analyzer read on only for the imports.
		e := slices.MinFunc(u.py.errs, func(x, y syntaxErr) int { return cmp.Compare(x.line, y.line) })
		a.add(Finding{Severity: a.severity(u, false), Code: "syntax-error", File: u.ctx, Line: e.line,
			Message: fmt.Sprintf("%s does not parse: %s", u.ctx, e.msg),
			Fix:     fmt.Sprintf("fix the syntax at %s:%d; Python cannot import this file", u.ctx, e.line)})
	}
	return ctx.Err()
}

// severity is "error" for a problem that breaks the function's start, and
// "warning" when it only may: code that runs later (lazy), or a file the
// handler does not import.
func (a *analysis) severity(u unit, lazy bool) string {
	if lazy || !u.reach {
		return "warning"
	}
	return "error"
}

// requirements reads what the needed stages install.
func (a *analysis) requirements() error {
	rr := &reqReader{files: a.files, seen: map[string]bool{}, poetry: map[string]bool{}}
	seen := map[*install]bool{}
	var installs []*install
	for _, i := range slices.Sorted(maps.Keys(a.df.needed)) {
		for _, ins := range a.df.images[i].installs {
			if !seen[ins] {
				seen[ins] = true
				installs = append(installs, ins)
			}
		}
	}
	slices.SortStableFunc(installs, func(x, y *install) int { return cmp.Compare(x.line, y.line) })
	for _, ins := range installs {
		for _, r := range ins.reqs {
			if a.fixFile == "" {
				a.fixFile = r
			}
			if err := rr.requirementsFile(r, false, 0); err != nil {
				return err
			}
		}
		for _, s := range ins.specs {
			if name, extras, ok := parseSpec(s); ok {
				rr.add(name, extras)
			}
			if a.fixFile == "" && a.pipLine == 0 && ins.tool == "pip" && !isPipItself(s) {
				a.pipLine = ins.line
			}
		}
		for _, p := range ins.projects {
			if a.fixFile == "" && a.files.files[path.Join(p.dir, "pyproject.toml")] {
				a.fixFile = path.Join(p.dir, "pyproject.toml")
			}
			rr.localProject(p.dir, p.extras, 0)
		}
	}
	a.findings = append(a.findings, rr.findings...)
	a.poetry = rr.poetry[a.fixFile]
	a.version = a.final.python
	if a.version == "" {
		a.version = rr.python
	}
	if a.version == "" { // a project the Dockerfile does not install may still say
		root := &reqReader{files: a.files, seen: map[string]bool{}, poetry: map[string]bool{}}
		root.localProject("", nil, 0)
		a.version = root.python
	}
	if a.version == "" {
		a.version = pyindex.DefaultVersion
	}
	var dists []string
	for _, r := range rr.reqs {
		dists = append(dists, r.name)
		for _, e := range r.extras {
			dists = append(dists, r.name+"["+e+"]")
		}
	}
	if a.final.lambda {
		dists = append(dists, pyindex.LambdaBaseProvides...)
	}
	a.provided, a.exact = map[string]bool{}, map[string]bool{}
	done := map[string]bool{}
	for len(dists) > 0 {
		d := dists[len(dists)-1]
		dists = dists[:len(dists)-1]
		if done[d] {
			continue
		}
		done[d] = true
		if d == "awslambdaric" {
			a.ric = true
		}
		dists = append(dists, pyindex.Requires(d)...)
		if strings.Contains(d, "[") {
			continue
		}
		names := pyindex.Provides(d)
		if len(names) == 0 {
			names = []string{strings.ReplaceAll(d, "-", "_")}
		}
		for _, n := range names {
			a.exact[n] = true
			for p := n; ; {
				a.provided[p] = true
				i := strings.LastIndexByte(p, '.')
				if i < 0 {
					break
				}
				p = p[:i]
			}
		}
	}
	return nil
}

func isPipItself(spec string) bool {
	name, _, _ := parseSpec(spec)
	return name == "pip" || name == "setuptools" || name == "wheel"
}

// chain is the final stage and the stages it is built FROM.
func (a *analysis) chain() []*image {
	var out []*image
	for img := a.final; img != nil; {
		out = append(out, img)
		if img.parent < 0 {
			break
		}
		img = a.df.images[img.parent]
	}
	return out
}

func (a *analysis) lint() {
	final := a.final
	if !final.lambda && !a.ric {
		a.add(Finding{Severity: "warning", Code: "base-not-lambda", File: a.rel, Line: final.baseLine,
			Message: fmt.Sprintf("the base image `%s` is not a Lambda Python base image, and nothing installs the runtime interface client `awslambdaric`", final.base),
			Fix:     "build FROM `public.ecr.aws/lambda/python:3.12`, or `RUN pip install --target ${FUNCTION_DIR} awslambdaric` and set `ENTRYPOINT [\"python\", \"-m\", \"awslambdaric\"]`"})
	}
	if final.lambda {
		return
	}
	seen := map[*install]bool{}
	for _, img := range a.chain() {
		for _, ins := range img.installs {
			if seen[ins] || ins.tool != "pip" || ins.target || ins.stage != img.index {
				continue
			}
			seen[ins] = true
			onlyPip := len(ins.reqs) == 0 && len(ins.projects) == 0
			for _, s := range ins.specs {
				onlyPip = onlyPip && isPipItself(s)
			}
			if onlyPip {
				continue
			}
			a.add(Finding{Severity: "warning", Code: "pip-no-target", File: a.rel, Line: ins.line,
				Message: "`pip install` installs into the base image's site-packages rather than the function directory",
				Fix:     fmt.Sprintf("install with `--target %s` (the function directory the runtime client imports from)", final.workdir)})
		}
	}
}

// layout finds sys.path, the modules the image holds there, and the Python
// files to read.
func (a *analysis) layout() {
	final := a.final
	if final.lambda {
		root := cmp.Or(final.env["LAMBDA_TASK_ROOT"], "/var/task")
		a.sysPath = []string{root, "/opt/python/lib/python" + a.version + "/site-packages", "/opt/python"}
	} else {
		a.sysPath = []string{final.workdir}
		if r := final.env["LAMBDA_TASK_ROOT"]; r != "" {
			a.sysPath = append(a.sysPath, r)
		}
	}
	for _, p := range strings.Split(final.env["PYTHONPATH"], ":") {
		if path.IsAbs(p) {
			a.sysPath = append(a.sysPath, path.Clean(p))
		}
	}
	a.mods, a.pkgs = map[string]module{}, map[string]bool{}
	seenCtx := map[string]bool{}
	for _, file := range slices.Sorted(maps.Keys(final.files)) {
		src := final.files[file]
		for _, dir := range a.sysPath {
			rel, ok := strings.CutPrefix(file, strings.TrimSuffix(dir, "/")+"/")
			if !ok {
				continue
			}
			parts := strings.Split(rel, "/")
			name, isModule := moduleName(parts[len(parts)-1])
			if !validParts(parts[:len(parts)-1]) {
				continue
			}
			for k := 1; k < len(parts); k++ {
				a.pkgs[strings.Join(parts[:k], ".")] = true
			}
			if !isModule {
				continue
			}
			pkg := name == "__init__"
			dotted := strings.Join(append(slices.Clone(parts[:len(parts)-1]), name), ".")
			if pkg {
				dotted = strings.Join(parts[:len(parts)-1], ".")
			}
			if _, dup := a.mods[dotted]; dup || dotted == "" {
				continue
			}
			a.mods[dotted] = module{file: file, ctx: src.ctx, pkg: pkg}
			if strings.HasSuffix(file, ".py") && src.ctx != "" && !seenCtx[src.ctx] {
				seenCtx[src.ctx] = true
				a.units = append(a.units, unit{ctx: src.ctx, module: dotted, pkg: pkg})
			}
		}
	}
	slices.SortFunc(a.units, func(x, y unit) int { return strings.Compare(x.ctx, y.ctx) })
}

// moduleName returns the module a file name makes importable: x.py, x.pyc,
// x.so, x.cpython-312-x86_64-linux-gnu.so.
func moduleName(file string) (string, bool) {
	for _, ext := range []string{".py", ".pyc", ".so"} {
		if name, ok := strings.CutSuffix(file, ext); ok {
			if ext == ".so" {
				name, _, _ = strings.Cut(name, ".")
			}
			return name, validParts([]string{name})
		}
	}
	return "", false
}

func validParts(parts []string) bool {
	for _, p := range parts {
		if !validModule(p) || strings.Contains(p, ".") {
			return false
		}
	}
	return true
}

// parse reads the Python files in parallel: one worker per core, each with
// its own read buffer, so memory stays bounded by the largest files.
func (a *analysis) parse(ctx context.Context) error {
	root, err := unix.Open(a.in.Context, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: a.in.Context, Err: err}
	}
	defer unix.Close(root)
	var next atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	for range min(runtime.GOMAXPROCS(0), max(len(a.units), 1)) {
		g.Go(func() error {
			var buf []byte
			for i := int(next.Add(1) - 1); i < len(a.units); i = int(next.Add(1) - 1) {
				if err := gctx.Err(); err != nil {
					return err
				}
				data, err := readAt(root, a.units[i].ctx, &buf)
				if errors.Is(err, unix.ENOENT) {
					a.units[i].py = &pyFile{} // a dangling symlink
					continue
				}
				if err != nil {
					return &os.PathError{Op: "read", Path: filepath.Join(a.in.Context, a.units[i].ctx), Err: err}
				}
				a.units[i].py = parsePython(string(data), a.version)
			}
			return nil
		})
	}
	return g.Wait()
}

// readAt reads a file below the directory fd root into *buf (grown as needed).
func readAt(root int, rel string, buf *[]byte) ([]byte, error) {
	fd, err := unix.Openat(root, rel, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	n := 0
	for {
		if n == len(*buf) {
			*buf = append(*buf, make([]byte, max(len(*buf), 64<<10))...)
		}
		m, err := unix.Read(fd, (*buf)[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		n += m
		if m == 0 || n < len(*buf) { // a short read of a regular file is its end
			return (*buf)[:n], nil
		}
	}
}

// under reports whether image path p is d or below it.
func under(p, d string) bool {
	return p == d || strings.HasPrefix(p, strings.TrimSuffix(d, "/")+"/")
}

// opaqueAt reports whether the image may hold files the analyzer cannot see at p.
func (a *analysis) opaqueAt(p string) bool {
	for _, o := range a.final.opaque {
		if under(p, o) || under(o, p) {
			return true
		}
	}
	return false
}

// finish deduplicates and sorts findings.
func finish(fs []Finding) []Finding {
	out := []Finding{}
	seen := map[string]bool{}
	for _, f := range fs {
		key := fmt.Sprint(f.File, "\x00", f.Line, "\x00", f.Code, "\x00", f.Module)
		if f.Module == "" {
			key += "\x00" + f.Message
		}
		if !seen[key] {
			seen[key] = true
			out = append(out, f)
		}
	}
	slices.SortStableFunc(out, func(x, y Finding) int {
		return cmp.Or(strings.Compare(x.File, y.File), cmp.Compare(x.Line, y.Line), strings.Compare(x.Code, y.Code),
			strings.Compare(x.Module, y.Module), strings.Compare(x.Message, y.Message))
	})
	return out
}
