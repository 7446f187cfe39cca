package analyze

import (
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/lambdacontainer/pulumi-lambdacontainer/internal/pyindex"
)

var handlerForm = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(?:[./][A-Za-z_][A-Za-z0-9_]*)*\.[A-Za-z_][A-Za-z0-9_]*$`)

func words(c *cmdLine) []string {
	if c == nil {
		return nil
	}
	if c.shell {
		return strings.Fields(strings.Join(c.args, " "))
	}
	return c.args
}

func startsRIC(args []string) int {
	for i, w := range args {
		if w == "awslambdaric" || path.Base(w) == "awslambdaric" || path.Base(w) == "aws-lambda-ric" {
			return i
		}
	}
	return -1
}

func isLambdaEntrypoint(args []string) bool {
	for _, w := range args {
		if b := path.Base(w); b == "lambda-entrypoint.sh" || b == "aws-lambda-rie" || w == "/var/runtime/bootstrap" {
			return true
		}
	}
	return false
}

// handler checks the handler CMD names, and marks the files it imports.
func (a *analysis) handler() {
	final := a.final
	ep, cmd := words(final.entrypoint), words(final.cmd)
	name, line := "", 0
	if final.cmd != nil && len(cmd) > 0 {
		name, line = cmd[0], final.cmd.line
	}
	epLine := 0
	if final.entrypoint != nil {
		epLine = final.entrypoint.line
	}
	switch i := startsRIC(ep); {
	case final.lambda && final.entrypoint != nil && !isLambdaEntrypoint(ep) && i < 0:
		a.add(Finding{Severity: "warning", Code: "entrypoint-override", File: a.rel, Line: epLine,
			Message: fmt.Sprintf("ENTRYPOINT `%s` replaces the Lambda base image's /lambda-entrypoint.sh, so the runtime interface client never starts", strings.Join(ep, " ")),
			Fix:     "remove the ENTRYPOINT and name the handler in CMD, e.g. `CMD [\"app.handler\"]`"})
		a.reachAll()
		return
	case final.lambda || isLambdaEntrypoint(ep):
	case i >= 0:
		if i+1 < len(ep) {
			name, line = ep[i+1], epLine
		}
	case final.entrypoint == nil && startsRIC(cmd) >= 0:
		j := startsRIC(cmd)
		name = ""
		if j+1 < len(cmd) {
			name = cmd[j+1]
		}
	default:
		if a.ric {
			what := "the image's CMD"
			l := line
			if final.entrypoint != nil {
				what, l = fmt.Sprintf("ENTRYPOINT `%s`", strings.Join(ep, " ")), epLine
			}
			a.add(Finding{Severity: "warning", Code: "entrypoint-override", File: a.rel, Line: max(l, final.baseLine),
				Message: fmt.Sprintf("%s does not start the runtime interface client `awslambdaric`", what),
				Fix:     "set `ENTRYPOINT [\"python\", \"-m\", \"awslambdaric\"]` and name the handler in CMD, e.g. `CMD [\"app.handler\"]`"})
		}
		a.reachAll()
		return
	}
	if name == "" {
		a.add(Finding{Severity: "error", Code: "no-handler", File: a.rel, Line: max(epLine, final.baseLine),
			Message: "the image has no CMD, so Lambda has no handler to call",
			Fix:     "add `CMD [\"app.handler\"]` naming the handler as module.function (or set the function's image config command)"})
		a.reachAll()
		return
	}
	if !handlerForm.MatchString(name) {
		a.add(Finding{Severity: "error", Code: "handler-invalid", File: a.rel, Line: line,
			Message: fmt.Sprintf("CMD names `%s`, which is not a handler: Lambda expects module.function", name),
			Fix:     "name the handler as module.function, e.g. `CMD [\"app.handler\"]`"})
		a.reachAll()
		return
	}
	dot := strings.LastIndexByte(name, '.')
	modName, fn := strings.ReplaceAll(name[:dot], "/", "."), name[dot+1:]
	m, ok := a.mods[modName]
	if !ok {
		a.handlerMissing(name, modName, line)
		a.reachAll()
		return
	}
	u := a.unitByCtx(m.ctx)
	if u == nil {
		a.reachAll() // its contents are unknown (a heredoc, a compiled module)
		return
	}
	a.reach(u)
	py := u.py
	if py.opaque || len(py.errs) > 0 || slices.Contains(py.names, fn) {
		return
	}
	defs := "it defines no function"
	fix := fmt.Sprintf("define `def %s(event, context)` at the top level of %s", fn, u.ctx)
	if len(py.funcs) > 0 {
		quoted := make([]string, len(py.funcs))
		for i, f := range py.funcs {
			quoted[i] = "`" + f + "`"
		}
		defs = "it defines " + strings.Join(quoted, ", ")
		best := py.funcs[0]
		for _, f := range py.funcs {
			if strings.Contains(strings.ToLower(f), "handler") {
				best = f
				break
			}
		}
		fix = fmt.Sprintf("point CMD at `%s.%s`, or define `%s` at the top level of %s", name[:dot], best, fn, u.ctx)
	}
	a.add(Finding{Severity: "error", Code: "handler-not-found", File: a.rel, Line: line,
		Message: fmt.Sprintf("CMD names `%s`, but %s has no top-level `%s`; %s", name, u.ctx, fn, defs),
		Fix:     fix})
}

// handlerMissing explains why the image has no file for the handler's module.
func (a *analysis) handlerMissing(handler, modName string, line int) {
	root := a.sysPath[0]
	modPath := strings.ReplaceAll(modName, ".", "/")
	wants := []string{modPath + ".py", modPath + "/__init__.py"}
	for _, w := range wants {
		if a.opaqueAt(path.Join(root, w)) {
			return // a stage built it, or an archive holds it: it may well be there
		}
	}
	f := Finding{Severity: "error", Code: "handler-module-missing", File: a.rel, Line: line}
	// Where the Dockerfile would have taken it from, had the context sent it.
	candidates := slices.Clone(wants)
	for _, op := range a.final.copies {
		for _, dir := range a.sysPath {
			for _, w := range wants {
				p := path.Join(dir, w)
				if rel, ok := strings.CutPrefix(p, strings.TrimSuffix(op.dest, "/")+"/"); ok && op.dir {
					candidates = append(candidates, strings.TrimPrefix(path.Join(op.src, rel), "/"))
				}
			}
		}
	}
	for _, c := range candidates {
		if a.files.files[c] {
			continue
		}
		if pat, ignored := a.files.ignoredBy(c); ignored {
			f.Message = fmt.Sprintf("CMD names `%s`, but its module %s is excluded from the build context by %s", handler, c, a.files.ignoreFile)
			if pat != "" {
				f.Message += fmt.Sprintf(" (pattern `%s`)", pat)
				f.Fix = fmt.Sprintf("remove `%s` from %s, or re-include the file with `!%s`", pat, a.files.ignoreFile, c)
			} else {
				f.Fix = fmt.Sprintf("re-include it in %s with `!%s`", a.files.ignoreFile, c)
			}
			a.add(f)
			return
		}
	}
	for _, p := range slices.Sorted(maps.Keys(a.final.files)) {
		src := a.final.files[p]
		for _, w := range wants {
			if src.ctx != "" && strings.HasSuffix(p, "/"+w) {
				f.Message = fmt.Sprintf("CMD names `%s`, but its module %s is copied to %s, which is not on the function's sys.path (%s)", handler, src.ctx, p, root)
				f.Fix = fmt.Sprintf("copy it into %s: `COPY %s %s/%s`", root, src.ctx, root, path.Dir(w))
				a.add(f)
				return
			}
		}
	}
	for _, c := range candidates {
		if a.files.files[c] {
			f.Message = fmt.Sprintf("CMD names `%s`, but the Dockerfile does not copy its module %s into %s", handler, c, root)
			f.Fix = fmt.Sprintf("add `COPY %s %s`", c, path.Join(root, path.Dir(wants[0]))+"/")
			a.add(f)
			return
		}
	}
	f.Message = fmt.Sprintf("CMD names `%s`, but the image has no module `%s` (%s or %s under %s)", handler, modName, wants[0], wants[1], root)
	f.Fix = fmt.Sprintf("create %s with the handler function, or fix CMD", wants[0])
	a.add(f)
}

func (a *analysis) unitByCtx(ctx string) *unit {
	if ctx == "" {
		return nil
	}
	i, ok := slices.BinarySearchFunc(a.units, ctx, func(u unit, c string) int { return strings.Compare(u.ctx, c) })
	if !ok {
		return nil
	}
	return &a.units[i]
}

func (a *analysis) reachAll() {
	for i := range a.units {
		a.units[i].reach = true
	}
}

// reach marks the files a module imports, transitively, starting from u.
func (a *analysis) reach(start *unit) {
	queue := []*unit{start}
	mark := func(mod string) {
		for m := mod; m != ""; {
			if u := a.unitByCtx(a.mods[m].ctx); u != nil && !u.reach {
				u.reach = true
				queue = append(queue, u)
			}
			i := strings.LastIndexByte(m, '.')
			if i < 0 {
				break
			}
			m = m[:i]
		}
	}
	start.reach = true
	mark(start.module)
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		for _, imp := range u.py.imports {
			mod := imp.module
			if imp.level > 0 {
				mod = a.relative(*u, imp)
			}
			mark(mod)
			for _, n := range imp.names {
				mark(join(mod, n))
			}
		}
	}
}

// relative resolves a relative import's module against the file's package.
func (a *analysis) relative(u unit, imp pyImport) string {
	pkg := u.module
	if !u.pkg {
		pkg = parentOf(pkg)
	}
	for i := 1; i < imp.level; i++ {
		pkg = parentOf(pkg)
	}
	return join(pkg, imp.module)
}

func parentOf(m string) string {
	if i := strings.LastIndexByte(m, '.'); i >= 0 {
		return m[:i]
	}
	return ""
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	if b == "" {
		return a
	}
	return a + "." + b
}

// satisfied reports whether an absolute import resolves in the image.
func (a *analysis) satisfied(mod string) bool {
	top, _, _ := strings.Cut(mod, ".")
	if pyindex.IsStdlib(mod, a.version) || a.mods[top].file != "" || a.pkgs[top] {
		return true
	}
	return a.provided[mod] || a.providedPrefix(mod) // a module, or a namespace parent of one
}

// localGap returns, for an import into a regular local package, the first
// submodule the image lacks.
func (a *analysis) localGap(mod string) string {
	parts := strings.Split(mod, ".")
	for k := 2; k <= len(parts); k++ {
		parent, m := strings.Join(parts[:k-1], "."), strings.Join(parts[:k], ".")
		pm, ok := a.mods[parent]
		if !ok || !pm.pkg || pm.ctx == "" || a.opaqueAt(path.Dir(pm.file)) {
			return ""
		}
		if _, ok := a.mods[m]; !ok && !a.pkgs[m] && !a.providedPrefix(m) {
			return m
		}
	}
	return ""
}

// providedPrefix reports whether a distribution provides m or a package it is in.
func (a *analysis) providedPrefix(m string) bool {
	for ; m != ""; m = parentOf(m) {
		if a.exact[m] {
			return true
		}
	}
	return false
}

// removedIn returns the version that removed a module from the standard
// library, if an earlier version had it.
func removedIn(mod, version string) string {
	vs := pyindex.Versions()
	i := slices.Index(vs, version)
	if i < 0 {
		i = slices.Index(vs, pyindex.DefaultVersion)
	}
	for j := i; j > 0; j-- {
		if pyindex.IsStdlib(mod, vs[j-1]) && !pyindex.IsStdlib(mod, vs[j]) {
			return vs[j]
		}
	}
	return ""
}

func (a *analysis) imports() {
	for i := range a.units {
		u := &a.units[i]
		for _, imp := range u.py.imports {
			if imp.level > 0 || imp.optional {
				continue
			}
			if !a.satisfied(imp.module) {
				a.missingFrom(u, imp)
				continue
			}
			if a.namespaceOnly(imp.module) {
				// from google.cloud import bigquery: the names are portions of other distributions
				for _, n := range imp.names {
					if sub := imp.module + "." + n; !a.satisfied(sub) && portion(sub, imp.module) {
						a.missing(u, imp, sub)
					}
				}
			}
			if gap := a.localGap(imp.module); gap != "" {
				a.add(Finding{Severity: a.severity(*u, imp.lazy || imp.dynamic), Code: "missing-local-module", File: u.ctx, Line: imp.line, Module: imp.module,
					Message: fmt.Sprintf("`%s` is imported, but the image has no module `%s`", imp.module, gap),
					Fix:     fmt.Sprintf("create %s.py, or fix the import", strings.ReplaceAll(gap, ".", "/"))})
			}
		}
	}
}

// missingFrom reports an unresolved import; for a from-import of a
// namespace root, per imported portion.
func (a *analysis) missingFrom(u *unit, imp pyImport) {
	var subs []string
	for _, n := range imp.names {
		sub := imp.module + "." + n
		if a.satisfied(sub) {
			return // from google import protobuf
		}
		if portion(sub, imp.module) {
			subs = append(subs, sub)
		}
	}
	if len(subs) == 0 || len(subs) < len(imp.names) {
		a.missing(u, imp, imp.module)
		return
	}
	for _, s := range subs {
		a.missing(u, imp, s)
	}
}

// portion reports whether sub belongs to a distribution of its own below
// the namespace package ns.
func portion(sub, ns string) bool {
	if _, ok := pyindex.Distribution(ns); ok {
		return false
	}
	d, ok := pyindex.Distribution(sub)
	return ok && !slices.Contains(pyindex.Provides(d), ns)
}

// namespaceOnly reports whether mod resolves only as the namespace parent of
// what distributions provide (google.cloud), not as a module of its own.
func (a *analysis) namespaceOnly(mod string) bool {
	top, _, _ := strings.Cut(mod, ".")
	if pyindex.IsStdlib(mod, a.version) || a.mods[top].file != "" || a.pkgs[top] {
		return false
	}
	for m := mod; m != ""; m = parentOf(m) {
		if a.exact[m] {
			return false
		}
	}
	return true
}

func (a *analysis) missing(u *unit, imp pyImport, mod string) {
	how := "is imported"
	switch {
	case imp.dynamic:
		how = "is imported dynamically"
	case imp.lazy:
		how = "is imported inside a function"
	}
	f := Finding{Severity: a.severity(*u, imp.lazy || imp.dynamic), Code: "missing-requirement", File: u.ctx, Line: imp.line, Module: mod}
	dist, known := pyindex.Distribution(mod)
	if !known {
		dist, _, _ = strings.Cut(mod, ".")
	}
	if v := removedIn(mod, a.version); v != "" {
		f.Message = fmt.Sprintf("`%s` %s, but it left the standard library in Python %s (the image runs %s) and no requirement provides it", mod, how, v, a.version)
		if !known {
			f.Fix = fmt.Sprintf("replace `%s`, or build on a Python older than %s", mod, v)
			a.add(f)
			return
		}
	} else {
		f.Message = fmt.Sprintf("`%s` %s but no requirement provides it", mod, how)
	}
	if !u.reach {
		f.Message += " (the handler does not import " + u.ctx + ")"
	}
	f.Fix = a.fixFor(dist)
	a.add(f)
}

// fixFor says where to declare a missing distribution.
func (a *analysis) fixFor(dist string) string {
	target := "${LAMBDA_TASK_ROOT}"
	if !a.final.lambda {
		target = a.final.workdir
	}
	switch {
	case a.poetry:
		return fmt.Sprintf("add `%s` to [tool.poetry.dependencies] in %s", dist, a.fixFile)
	case strings.HasSuffix(a.fixFile, "pyproject.toml"):
		return fmt.Sprintf("add `%s` to [project].dependencies in %s", dist, a.fixFile)
	case a.fixFile != "":
		return fmt.Sprintf("add `%s` to %s", dist, a.fixFile)
	case a.pipLine > 0:
		return fmt.Sprintf("add `%s` to the `pip install` at %s:%d", dist, a.rel, a.pipLine)
	case a.files.files["requirements.txt"]:
		return fmt.Sprintf("add `%s` to requirements.txt, and install it: `COPY requirements.txt .` then `RUN pip install -r requirements.txt --target %s`", dist, target)
	}
	return fmt.Sprintf("add `%s` to a requirements.txt, and install it: `COPY requirements.txt .` then `RUN pip install -r requirements.txt --target %s`", dist, target)
}

// lambdaEnvironment is what Lambda itself sets in every function's environment.
var lambdaEnvironment = map[string]bool{
	"_HANDLER": true, "_X_AMZN_TRACE_ID": true, "AWS_DEFAULT_REGION": true, "AWS_REGION": true, "AWS_EXECUTION_ENV": true,
	"AWS_LAMBDA_FUNCTION_NAME": true, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": true, "AWS_LAMBDA_FUNCTION_VERSION": true,
	"AWS_LAMBDA_INITIALIZATION_TYPE": true, "AWS_LAMBDA_LOG_GROUP_NAME": true, "AWS_LAMBDA_LOG_STREAM_NAME": true,
	"AWS_ACCESS_KEY_ID": true, "AWS_SECRET_ACCESS_KEY": true, "AWS_SESSION_TOKEN": true, "AWS_LAMBDA_RUNTIME_API": true,
	"LAMBDA_TASK_ROOT": true, "LAMBDA_RUNTIME_DIR": true, "AWS_XRAY_CONTEXT_MISSING": true, "AWS_XRAY_DAEMON_ADDRESS": true,
	"_AWS_XRAY_DAEMON_ADDRESS": true, "_AWS_XRAY_DAEMON_PORT": true, "AWS_LAMBDA_LOG_FORMAT": true, "AWS_LAMBDA_LOG_LEVEL": true,
	"LANG": true, "PATH": true, "LD_LIBRARY_PATH": true, "TZ": true,
}

// environment checks the variables module code reads at import time.
func (a *analysis) environment() {
	if a.in.Environment == nil {
		return
	}
	for _, u := range a.units {
		for _, e := range u.py.env {
			if _, ok := a.in.Environment[e.name]; ok || lambdaEnvironment[e.name] {
				continue
			}
			if _, ok := a.final.env[e.name]; ok {
				continue
			}
			a.add(Finding{Severity: a.severity(u, false), Code: "env-missing", File: u.ctx, Line: e.line, Module: e.name,
				Message: fmt.Sprintf("%s reads os.environ[%q] when it is imported, but neither the function's environment nor an ENV in the Dockerfile sets %s", u.ctx, e.name, e.name),
				Fix:     fmt.Sprintf("set %s in the function's environment", e.name)})
		}
	}
}
