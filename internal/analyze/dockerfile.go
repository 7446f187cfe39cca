package analyze

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/command"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// The Dockerfile model: BuildKit's parser reads the file, and this file
// plays its stages forward far enough to know, per stage, which context
// files land where in the image, the environment, the working directory,
// CMD and ENTRYPOINT, and what pip installs.

// image is what the analyzer knows of a stage's image.
type image struct {
	index      int
	name       string
	parent     int    // the stage this one is built FROM; -1 for an external image
	base       string // the external base image at the root of the stage's FROM chain
	baseLine   int    // the line of the FROM that named it
	lambda     bool   // that base is a Lambda Python base image (or stands in for one)
	python     string // the Python version its tag names, or ""
	env        map[string]string
	workdir    string
	files      map[string]imgFile // image path -> where it came from
	dirs       map[string]bool    // image directories known to exist
	opaque     []string           // image directories with contents the analyzer cannot know
	copies     []copyOp           // context sources copied into this image
	installs   []*install
	generated  map[string]generated // requirements files a RUN wrote, by image path
	cmd        *cmdLine
	entrypoint *cmdLine
	deps       []int // stages this one needs: its FROM, COPY --from, RUN --mount from
}

type imgFile struct {
	ctx     string // the context path it was copied from; "" for a heredoc
	heredoc bool
}

type copyOp struct {
	src, dest string // context source (slash path, "" = the root) and image destination
	dir       bool   // src is a directory (its contents land in dest)
}

// generated is where a requirements file that a RUN wrote comes from: a
// project's lock (poetry export, uv export, pdm export) or an input file
// (pip-compile).
type generated struct {
	project *project
	input   string // a context path
}

type cmdLine struct {
	args  []string
	shell bool
	line  int
	own   bool // set in this stage, not inherited
}

// install is one package installation in a RUN instruction.
type install struct {
	line     int
	stage    int
	tool     string   // "pip", "poetry", "uv" or "pipenv"
	reqs     []string // requirements files, as context paths
	specs    []string // requirement specifiers given on the command line
	projects []project
	target   bool // pip's --target (or --prefix / --root)
}

// project is a local Python project that an install builds: its context
// directory and the extras asked for.
type project struct {
	dir    string
	extras []string
}

type dockerfile struct {
	rel      string
	images   []*image
	target   int
	fatal    bool // the Dockerfile cannot be built as it is: nothing else is known
	findings []Finding
	stageOf  []int        // the stage each finding is about; -1 for the whole file
	cur      int          // the stage being read
	needed   map[int]bool // the stages the target needs, itself included
}

// lambdaEnv is the environment AWS's Lambda Python base images set.
var lambdaEnv = map[string]string{
	"LAMBDA_TASK_ROOT": "/var/task", "LAMBDA_RUNTIME_DIR": "/var/runtime", "LANG": "en_US.UTF-8",
	"TZ": ":/etc/localtime", "PATH": "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin",
	"LD_LIBRARY_PATH": "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib",
}

// standardDirs exist in every Linux base image.
var standardDirs = []string{"/", "/bin", "/etc", "/home", "/opt", "/root", "/srv", "/tmp", "/usr", "/usr/local", "/usr/local/bin", "/usr/src", "/var", "/var/lib"}

type envMap map[string]string

func (e envMap) Get(k string) (string, bool) { v, ok := e[k]; return v, ok }
func (e envMap) Keys() []string              { return slices.Sorted(maps.Keys(e)) }

// dfReader plays a Dockerfile's stages.
type dfReader struct {
	in     *Input
	files  *fileSet
	df     *dockerfile
	lex    *shell.Lex
	meta   envMap // the global scope: ARGs before the first FROM, with build args applied
	metaDf envMap // the same with the Dockerfile's defaults only
	args   envMap // the current stage's ARGs
	img    *image
}

func readDockerfile(in *Input, rel string, data []byte, files *fileSet) *dockerfile {
	df := &dockerfile{rel: rel, needed: map[int]bool{}, cur: -1}
	r := &dfReader{in: in, files: files, df: df, meta: envMap{}, metaDf: envMap{}}
	if syntax, _, loc, ok := parser.DetectSyntax(data); ok {
		line := 1
		if len(loc) > 0 {
			line = loc[0].Start.Line
		}
		df.add(Finding{Severity: "info", Code: "syntax-directive", File: rel, Line: line,
			Message: fmt.Sprintf("the `# syntax=%s` parser directive makes BuildKit pull that frontend image from a registry before it builds", syntax),
			Fix:     "remove the `# syntax=` line: BuildKit's built-in Dockerfile frontend reads this Dockerfile"})
	}
	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		df.syntaxError(err, 0)
		return df
	}
	r.lex = shell.NewLex(res.EscapeToken)
	for _, k := range []string{"BUILDPLATFORM", "TARGETPLATFORM"} {
		r.meta[k], r.metaDf[k] = "linux/amd64", "linux/amd64"
	}
	for _, k := range []string{"BUILDOS", "TARGETOS"} {
		r.meta[k], r.metaDf[k] = "linux", "linux"
	}
	for _, k := range []string{"BUILDARCH", "TARGETARCH"} {
		r.meta[k], r.metaDf[k] = "amd64", "amd64"
	}
	for _, n := range res.AST.Children {
		if r.df.fatal {
			break
		}
		r.instruction(n)
	}
	if df.fatal {
		return df
	}
	if len(df.images) == 0 {
		df.syntaxError(errors.New("the Dockerfile has no FROM instruction"), 1)
		return df
	}
	df.target = len(df.images) - 1
	if in.Target != "" {
		df.target = -1
		for i, img := range df.images {
			if strings.EqualFold(img.name, in.Target) {
				df.target = i
			}
		}
		if df.target < 0 {
			df.add(Finding{Severity: "error", Code: "target-not-found", File: rel,
				Message: fmt.Sprintf("the target stage %q is not defined in %s", in.Target, rel),
				Fix:     fmt.Sprintf("name a stage `FROM ... AS %s`, or set target to one of: %s", in.Target, stageNames(df.images))})
			df.fatal = true
			return df
		}
	}
	var need func(int)
	need = func(i int) {
		if !df.needed[i] {
			df.needed[i] = true
			for _, d := range df.images[i].deps {
				need(d)
			}
		}
	}
	need(df.target)
	return df
}

func stageNames(images []*image) string {
	var names []string
	for _, img := range images {
		if img.name != "" {
			names = append(names, "`"+img.name+"`")
		}
	}
	if len(names) == 0 {
		return "(no stage is named)"
	}
	return strings.Join(names, ", ")
}

func (df *dockerfile) add(f Finding) {
	df.findings = append(df.findings, f)
	df.stageOf = append(df.stageOf, df.cur)
}

func (df *dockerfile) syntaxError(err error, line int) {
	var loc *parser.LocationError
	if errors.As(err, &loc) && len(loc.Locations) > 0 && len(loc.Locations[0]) > 0 {
		line = loc.Locations[0][0].Start.Line
	}
	msg := err.Error()
	df.add(Finding{Severity: "error", Code: "dockerfile-syntax", File: df.rel, Line: max(line, 1),
		Message: fmt.Sprintf("%s does not parse: %s", df.rel, msg),
		Fix:     "fix the instruction at that line; BuildKit refuses the whole Dockerfile"})
	df.fatal = true
}

// expand substitutes variables the way BuildKit does for an instruction's word.
func (r *dfReader) expand(word string, env envMap) string {
	out, _, err := r.lex.ProcessWord(word, env)
	if err != nil {
		return word
	}
	return out
}

// stageEnv is what an instruction's words expand with: the stage's ARGs, then its ENV.
func (r *dfReader) stageEnv() envMap {
	e := maps.Clone(r.args)
	maps.Copy(e, r.img.env)
	return e
}

func nodeArgs(n *parser.Node) []string {
	var out []string
	for a := n.Next; a != nil; a = a.Next {
		out = append(out, a.Value)
	}
	return out
}

func (r *dfReader) instruction(n *parser.Node) {
	cmd := strings.ToLower(n.Value)
	if _, ok := command.Commands[cmd]; !ok {
		r.df.syntaxError(fmt.Errorf("unknown instruction: %s", n.Value), n.StartLine)
		return
	}
	if r.img == nil && cmd != command.From && cmd != command.Arg {
		r.df.syntaxError(fmt.Errorf("%s comes before the first FROM: no build stage in current context", strings.ToUpper(cmd)), n.StartLine)
		return
	}
	switch cmd {
	case command.Arg:
		r.arg(n)
	case command.From:
		r.from(n)
	case command.Env:
		env := r.stageEnv()
		for kv := n.Next; kv != nil && kv.Next != nil; kv = kv.Next.Next.Next {
			v := r.expand(kv.Next.Value, env)
			r.img.env[kv.Value] = v
			env[kv.Value] = v
			if kv.Next.Next == nil {
				break
			}
		}
	case command.Workdir:
		if n.Next != nil {
			r.img.workdir = r.abs(r.expand(n.Next.Value, r.stageEnv()))
			r.img.addDir(r.img.workdir)
		}
	case command.Copy, command.Add:
		r.copy(n, cmd)
	case command.Run:
		r.run(n)
	case command.Cmd, command.Entrypoint:
		c := &cmdLine{args: nodeArgs(n), shell: !n.Attributes["json"], line: n.StartLine, own: true}
		if cmd == command.Cmd {
			r.img.cmd = c
		} else {
			r.img.entrypoint = c
			if r.img.cmd != nil && !r.img.cmd.own {
				r.img.cmd = nil // an ENTRYPOINT resets the CMD the base image set
			}
		}
	}
}

func (r *dfReader) arg(n *parser.Node) {
	for _, word := range nodeArgs(n) {
		k, v, hasDefault := strings.Cut(word, "=")
		if r.img == nil { // the global scope
			if hasDefault {
				r.meta[k] = r.expand(v, r.meta)
				r.metaDf[k] = r.expand(v, r.metaDf)
			} else {
				delete(r.meta, k)
				delete(r.metaDf, k)
			}
			if b, ok := r.in.BuildArgs[k]; ok {
				r.meta[k] = b
			}
			continue
		}
		switch b, ok := r.in.BuildArgs[k]; {
		case ok:
			r.args[k] = b
		case hasDefault:
			r.args[k] = r.expand(v, r.stageEnv())
		default:
			if m, ok := r.meta[k]; ok {
				r.args[k] = m
			}
		}
	}
}

var varRef = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)(\}|$|[^A-Za-z0-9_:])`)

func (r *dfReader) from(n *parser.Node) {
	words := nodeArgs(n)
	if len(words) == 0 {
		r.df.syntaxError(errors.New("FROM requires an image"), n.StartLine)
		return
	}
	raw := words[0]
	base, unmatched, err := r.lex.ProcessWord(raw, r.meta)
	if err != nil {
		r.df.syntaxError(fmt.Errorf("FROM %s: %v", raw, err), n.StartLine)
		return
	}
	for _, m := range varRef.FindAllStringSubmatch(raw, -1) {
		if _, unset := unmatched[m[1]]; unset {
			r.df.add(Finding{Severity: "error", Code: "arg-base-no-default", File: r.df.rel, Line: n.StartLine,
				Message: fmt.Sprintf("the base image `%s` needs the build argument %s, which has no default and is not set", raw, m[1]),
				Fix:     fmt.Sprintf("give ARG %s a default or set buildArgs.%s", m[1], m[1])})
			r.df.fatal = true // nothing about the image is known
			return
		}
	}
	img := &image{index: len(r.df.images), parent: -1, env: map[string]string{}, files: map[string]imgFile{}, dirs: map[string]bool{}, generated: map[string]generated{}}
	if len(words) >= 3 && strings.EqualFold(words[1], "as") {
		img.name = words[2]
	}
	parent := -1
	for i, prev := range r.df.images {
		if prev.name != "" && strings.EqualFold(prev.name, base) {
			parent = i
		}
	}
	if parent >= 0 {
		p := r.df.images[parent]
		img.base, img.baseLine, img.lambda, img.python = p.base, p.baseLine, p.lambda, p.python
		img.env, img.workdir, img.files, img.dirs = maps.Clone(p.env), p.workdir, maps.Clone(p.files), maps.Clone(p.dirs)
		img.opaque, img.copies, img.installs = slices.Clone(p.opaque), slices.Clone(p.copies), slices.Clone(p.installs)
		img.generated = maps.Clone(p.generated)
		if p.cmd != nil {
			c := *p.cmd
			c.own = false
			img.cmd = &c
		}
		if p.entrypoint != nil {
			e := *p.entrypoint
			e.own = false
			img.entrypoint = &e
		}
		img.deps, img.parent = []int{parent}, parent
	} else {
		img.base, img.baseLine, img.workdir = base, n.StartLine, "/"
		dflt, _, _ := r.lex.ProcessWord(raw, r.metaDf)
		img.lambda = isLambdaBase(base) || isLambdaBase(dflt) // a build arg may swap in a stand-in for the default Lambda base
		img.python = pythonOfImage(base)
		if img.python == "" && img.lambda {
			img.python = pythonOfImage(dflt)
		}
		for _, d := range standardDirs {
			img.dirs[d] = true
		}
		img.env["PATH"] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
		if img.lambda {
			maps.Copy(img.env, lambdaEnv)
			img.workdir = "/var/task"
			img.addDir("/var/task")
			img.addDir("/var/runtime")
			img.entrypoint = &cmdLine{args: []string{"/lambda-entrypoint.sh"}}
		}
	}
	r.img = img
	r.args = envMap{}
	r.df.images = append(r.df.images, img)
	r.df.cur = img.index
}

// isLambdaBase reports whether an image reference names AWS's Lambda Python
// base image (its repository path lambda/python, or amazon/aws-lambda-python).
func isLambdaBase(ref string) bool {
	repo := strings.ToLower(refRepo(ref))
	return repo == "lambda/python" || strings.HasSuffix(repo, "/lambda/python") ||
		repo == "amazon/aws-lambda-python" || strings.HasSuffix(repo, "/amazon/aws-lambda-python")
}

// refRepo strips the tag and digest from an image reference.
func refRepo(ref string) string {
	ref, _, _ = strings.Cut(ref, "@")
	if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
		ref = ref[:i]
	}
	return ref
}

var pythonTag = regexp.MustCompile(`^(?:python-?)?(3\.\d+)(?:[.\-]|$)`)

// pythonOfImage reads the Python version from a Python image's tag:
// python:3.11-slim, lambda/python:3.12, amazon/aws-lambda-python:3.9.
func pythonOfImage(ref string) string {
	repo := refRepo(ref)
	if !strings.Contains(path.Base(strings.ToLower(repo)), "python") {
		return ""
	}
	tag := strings.TrimPrefix(strings.TrimPrefix(strings.Split(ref, "@")[0], repo), ":")
	if m := pythonTag.FindStringSubmatch(tag); m != nil {
		return m[1]
	}
	return ""
}

func (img *image) addDir(d string) {
	for ; ; d = path.Dir(d) {
		img.dirs[d] = true
		if d == "/" || d == "." {
			return
		}
	}
}

func (r *dfReader) abs(p string) string {
	if !path.IsAbs(p) {
		p = path.Join(r.img.workdir, p)
	}
	return path.Clean(p)
}

// flagValues splits an instruction's flags: --name=value or --name.
func flagValues(n *parser.Node) map[string][]string {
	out := map[string][]string{}
	for _, f := range n.Flags {
		k, v, _ := strings.Cut(strings.TrimLeft(f, "-"), "=")
		out[k] = append(out[k], v)
	}
	return out
}

func (r *dfReader) stageIndex(ref string) int {
	for i, img := range r.df.images {
		if img.name != "" && strings.EqualFold(img.name, ref) {
			return i
		}
	}
	if i, err := strconv.Atoi(ref); err == nil && i >= 0 && i < len(r.df.images) {
		return i
	}
	return -1
}

func hasGlob(s string) bool { return strings.ContainsAny(s, "*?[") }

func isURL(s string) bool {
	return strings.Contains(s, "://") || strings.HasPrefix(s, "git@")
}

var archiveExt = regexp.MustCompile(`\.(tar|tar\.gz|tgz|tar\.bz2|tbz2?|tar\.xz|txz|tar\.zst)$`)

func (r *dfReader) copy(n *parser.Node, cmd string) {
	flags := flagValues(n)
	for k := range flags {
		switch k {
		case "from", "chown", "chmod", "link", "parents", "exclude", "checksum", "keep-git-dir", "unpack":
		default:
			r.df.syntaxError(fmt.Errorf("%s: unknown flag --%s", strings.ToUpper(cmd), k), n.StartLine)
			return
		}
	}
	words := nodeArgs(n)
	if len(words) < 2 {
		r.df.syntaxError(fmt.Errorf("%s requires at least two arguments, a source and a destination", strings.ToUpper(cmd)), n.StartLine)
		return
	}
	env := r.stageEnv()
	for i, w := range words {
		if parser.MustParseHeredoc(w) == nil {
			words[i] = r.expand(w, env)
		}
	}
	rawDest := words[len(words)-1]
	srcs := words[:len(words)-1]
	dest := r.abs(rawDest)
	destDir := strings.HasSuffix(rawDest, "/") || rawDest == "." || len(srcs) > 1 || r.img.dirs[dest]
	for _, s := range srcs {
		destDir = destDir || hasGlob(s)
	}
	parents := len(flags["parents"]) > 0 && flags["parents"][0] != "false"
	from := -1
	if f := flags["from"]; len(f) > 0 {
		ref := r.expand(f[0], env)
		if from = r.stageIndex(ref); from < 0 {
			r.img.opaque = append(r.img.opaque, dest) // an external image's files
			return
		}
		r.img.deps = append(r.img.deps, from)
	}
	target := func(src string, isDir bool) string {
		switch {
		case parents:
			return path.Join(dest, src)
		case isDir:
			return dest
		case destDir:
			return path.Join(dest, path.Base(src))
		}
		return dest
	}
	for _, src := range srcs {
		if h := parser.MustParseHeredoc(src); h != nil {
			p := dest
			if destDir {
				p = path.Join(dest, h.Name)
			}
			r.img.files[p] = imgFile{heredoc: true}
			r.img.addDir(path.Dir(p))
			continue
		}
		if from >= 0 {
			r.copyFromStage(r.df.images[from], src, target)
			continue
		}
		if cmd == command.Add && isURL(src) {
			continue
		}
		clean := cleanSource(src)
		matches := r.files.match(clean)
		if len(matches) == 0 {
			r.missingSource(n, cmd, src, clean)
			continue
		}
		for _, m := range matches {
			isDir := r.files.dirs[m]
			to := target(m, isDir)
			if cmd == command.Add && !isDir && archiveExt.MatchString(m) {
				r.img.opaque = append(r.img.opaque, to)
				continue
			}
			r.img.copies = append(r.img.copies, copyOp{src: m, dest: to, dir: isDir})
			if !isDir {
				r.img.files[to] = imgFile{ctx: m}
				r.img.addDir(path.Dir(to))
				continue
			}
			r.img.addDir(to)
			for _, f := range r.files.under(m) {
				p := path.Join(to, strings.TrimPrefix(f, prefixOf(m)))
				r.img.files[p] = imgFile{ctx: f}
				r.img.addDir(path.Dir(p))
			}
		}
	}
}

func prefixOf(dir string) string {
	if dir == "" {
		return ""
	}
	return dir + "/"
}

// cleanSource turns a COPY source into a context path: "" is the root.
func cleanSource(src string) string {
	p := path.Clean("/" + src)
	return strings.TrimPrefix(p, "/")
}

func (r *dfReader) copyFromStage(from *image, src string, target func(string, bool) string) {
	src = path.Clean("/" + src)
	matches := []string{src}
	if hasGlob(src) {
		matches = nil
		for _, set := range []map[string]bool{from.dirs, keysOf(from.files)} {
			for p := range set {
				if ok, _ := path.Match(src, p); ok {
					matches = append(matches, p)
				}
			}
		}
	}
	for _, m := range matches {
		if f, ok := from.files[m]; ok {
			to := target(m, false)
			r.img.files[to] = f
			r.img.addDir(path.Dir(to))
			continue
		}
		// A directory, or something a RUN made: what the stage built or
		// installed there cannot be known, so the destination is opaque.
		to := target(m, true)
		r.img.addDir(to)
		r.img.opaque = append(r.img.opaque, to)
		for p, f := range from.files {
			if rel, ok := strings.CutPrefix(p, strings.TrimSuffix(m, "/")+"/"); ok {
				q := path.Join(to, rel)
				r.img.files[q] = f
				r.img.addDir(path.Dir(q))
			}
		}
	}
}

func keysOf[V any](m map[string]V) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

func (r *dfReader) missingSource(n *parser.Node, cmd, src, clean string) {
	f := Finding{Severity: "error", Code: "copy-source-missing", File: r.df.rel, Line: n.StartLine}
	instr := strings.ToUpper(cmd)
	if pattern, ignored := r.files.ignoredBy(clean); ignored {
		f.Message = fmt.Sprintf("%s source `%s` is excluded from the build context by %s", instr, src, r.files.ignoreFile)
		if pattern != "" {
			f.Message += fmt.Sprintf(" (pattern `%s`)", pattern)
			f.Fix = fmt.Sprintf("remove `%s` from %s, or re-include the source with `!%s`", pattern, r.files.ignoreFile, clean)
		} else {
			f.Fix = fmt.Sprintf("re-include it in %s with `!%s`", r.files.ignoreFile, clean)
		}
	} else if hasGlob(clean) {
		f.Message = fmt.Sprintf("%s source `%s` matches no file in the build context", instr, src)
		f.Fix = "fix the pattern, or add the files it should match to the build context"
	} else {
		f.Message = fmt.Sprintf("%s source `%s` is not in the build context", instr, src)
		f.Fix = fmt.Sprintf("create `%s` in the build context, or fix the %s source", clean, instr)
	}
	r.df.add(f)
}
