package analyze

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// RUN instructions: what they install with pip (and poetry, uv, pipenv),
// where the requirements files they read come from, and the directories
// they make.

// A RUN's bind mounts: image path -> what is mounted there.
type mount struct {
	target string
	src    string // a context path, or an image path in stage from
	from   int    // -1: the context
}

func (r *dfReader) mounts(n *parser.Node) []mount {
	var out []mount
	for _, m := range flagValues(n)["mount"] {
		kv := map[string]string{"type": "bind"}
		for _, part := range strings.Split(m, ",") {
			k, v, _ := strings.Cut(part, "=")
			kv[strings.ToLower(strings.TrimSpace(k))] = v
		}
		if kv["type"] != "bind" {
			continue
		}
		mt := mount{from: -1, src: firstOf(kv, "source", "src")}
		mt.target = firstOf(kv, "target", "dst", "destination")
		if mt.target == "" {
			continue
		}
		mt.target = r.abs(mt.target)
		if f := kv["from"]; f != "" {
			if mt.from = r.stageIndex(f); mt.from < 0 {
				continue
			}
			r.img.deps = append(r.img.deps, mt.from)
		}
		out = append(out, mt)
	}
	return out
}

func firstOf(kv map[string]string, keys ...string) string {
	for _, k := range keys {
		if v := kv[k]; v != "" {
			return v
		}
	}
	return ""
}

// ctxFile finds the context file an image path holds at a RUN: through the
// RUN's bind mounts, else the stage's files.
func (r *dfReader) ctxFile(p string, mounts []mount) (string, bool) {
	for _, m := range mounts {
		rel, ok := strings.CutPrefix(p, prefixOf(strings.TrimSuffix(m.target, "/")))
		if p == m.target {
			rel, ok = "", true
		}
		if !ok {
			continue
		}
		if m.from >= 0 {
			f, ok := r.df.images[m.from].files[path.Join("/", m.src, rel)]
			return f.ctx, ok && f.ctx != ""
		}
		c := strings.TrimPrefix(path.Join(cleanSource(m.src), rel), "/")
		return c, r.files.files[c]
	}
	f, ok := r.img.files[p]
	return f.ctx, ok && f.ctx != ""
}

// ctxDir finds the context directory an image directory was copied from.
func (r *dfReader) ctxDir(d string, mounts []mount) (string, bool) {
	for _, marker := range []string{"pyproject.toml", "setup.cfg", "setup.py", "Pipfile", "requirements.txt"} {
		if c, ok := r.ctxFile(path.Join(d, marker), mounts); ok {
			return strings.TrimSuffix(path.Dir(c), "."), true
		}
	}
	return "", false
}

var shellSeparators = regexp.MustCompile(`&&|\|\||[;|&\n()]`)

func (r *dfReader) run(n *parser.Node) {
	mounts := r.mounts(n)
	env := r.stageEnv()
	var commands [][]string
	words := nodeArgs(n)
	if n.Attributes["json"] {
		commands = append(commands, words)
	} else {
		script := strings.Join(words, " ")
		for _, h := range n.Heredocs {
			if strings.HasPrefix(strings.TrimSpace(script), "<<") {
				script += "\n" + h.Content
			}
		}
		for _, part := range splitShell(script) {
			ws, err := r.lex.ProcessWords(part, env)
			if err != nil {
				ws = strings.Fields(part)
			}
			commands = append(commands, ws)
		}
	}
	for _, ws := range commands {
		r.command(ws, n.StartLine, mounts)
	}
}

// splitShell splits a shell script into simple commands at unquoted
// separators (&&, ||, ;, |, &, newlines, parentheses).
func splitShell(s string) []string {
	var out []string
	var quote byte
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else if c == '\\' && quote == '"' {
				i++
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '\\':
			i++
		default:
			if loc := shellSeparators.FindStringIndex(s[i:]); loc != nil && loc[0] == 0 {
				out = append(out, s[start:i])
				i += loc[1] - 1
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

var pipName = regexp.MustCompile(`^pip[0-9.]*$`)
var pythonName = regexp.MustCompile(`^python[0-9.]*$`)

// pip options that take a value (the rest are flags).
var pipValueOptions = map[string]bool{
	"-r": true, "--requirement": true, "-c": true, "--constraint": true, "-t": true, "--target": true,
	"-e": true, "--editable": true, "-i": true, "--index-url": true, "--extra-index-url": true, "-f": true,
	"--find-links": true, "--prefix": true, "--root": true, "--platform": true, "--python-version": true,
	"--implementation": true, "--abi": true, "--only-binary": true, "--no-binary": true, "--progress-bar": true,
	"--src": true, "--upgrade-strategy": true, "--report": true, "--log": true, "--cache-dir": true,
	"--trusted-host": true, "--global-option": true, "--config-settings": true, "-C": true, "--proxy": true,
	"--timeout": true, "--retries": true, "--python": true, "--cert": true, "--client-cert": true,
	"--exists-action": true, "--root-user-action": true, "--index": true, "--default-index": true, "-p": true,
	"--group": true, "--extra": true, "--only-group": true, "--with": true, "--without": true, "--only": true,
	"-E": true, "--extras": true,
}

func (r *dfReader) command(ws []string, line int, mounts []mount) {
	for len(ws) > 0 && (strings.Contains(ws[0], "=") && !strings.HasPrefix(ws[0], "-") || ws[0] == "sudo" || ws[0] == "env" || ws[0] == "exec" || ws[0] == "time" || ws[0] == "{") {
		ws = ws[1:]
	}
	if len(ws) == 0 {
		return
	}
	name := path.Base(ws[0])
	var args []string
	tool := "pip"
	switch {
	case name == "mkdir":
		for _, w := range ws[1:] {
			if !strings.HasPrefix(w, "-") {
				r.img.addDir(r.abs(w))
			}
		}
		return
	case pipName.MatchString(name):
		args = ws[1:]
	case pythonName.MatchString(name) && len(ws) > 2 && ws[1] == "-m" && pipName.MatchString(ws[2]):
		args = ws[3:]
	case name == "uv" && len(ws) > 1 && ws[1] == "pip":
		args = ws[2:]
	case (name == "poetry" || name == "uv" || name == "pipenv") && len(ws) > 1 && (ws[1] == "install" || ws[1] == "sync"):
		tool = name
		args = ws[1:]
	case (name == "poetry" || name == "uv" || name == "pdm") && len(ws) > 1 && ws[1] == "export" || name == "pip-compile":
		r.export(ws, mounts)
		return
	default:
		return
	}
	i := 0
	for ; i < len(args) && args[i] != "install" && args[i] != "sync"; i++ {
		if pipValueOptions[args[i]] {
			i++
		}
	}
	if i >= len(args) {
		return
	}
	ins := &install{line: line, stage: r.img.index, tool: tool}
	if tool != "pip" {
		if d, ok := r.ctxDir(r.img.workdir, mounts); ok {
			ins.projects = append(ins.projects, project{dir: d})
		}
	}
	args = args[i+1:]
	for i := 0; i < len(args); i++ {
		a := args[i]
		opt, val, hasVal := a, "", false
		if strings.HasPrefix(a, "--") {
			opt, val, hasVal = strings.Cut(a, "=")
		} else if len(a) > 2 && a[0] == '-' && pipValueOptions[a[:2]] {
			opt, val, hasVal = a[:2], a[2:], true
		}
		if strings.HasPrefix(opt, "-") && pipValueOptions[opt] && !hasVal {
			if i+1 < len(args) {
				i++
				val = args[i]
			}
		}
		switch {
		case opt == "-r" || opt == "--requirement":
			p := r.abs(val)
			if g, ok := r.img.generated[p]; ok {
				if g.project != nil {
					ins.projects = append(ins.projects, *g.project)
				} else {
					ins.reqs = append(ins.reqs, g.input)
				}
			} else if c, ok := r.ctxFile(p, mounts); ok {
				ins.reqs = append(ins.reqs, c)
			} else {
				r.reqNotCopied(val, p, line)
				if c := cleanSource(val); !path.IsAbs(val) && r.files.files[c] {
					ins.reqs = append(ins.reqs, c)
				}
			}
		case opt == "-t" || opt == "--target" || opt == "--prefix" || opt == "--root":
			ins.target = true
		case opt == "-e" || opt == "--editable":
			r.installArg(ins, val, mounts)
		case opt == "-E" || opt == "--extras" || opt == "--extra":
			for k := range ins.projects {
				ins.projects[k].extras = append(ins.projects[k].extras, strings.Split(val, ",")...)
			}
		case strings.HasPrefix(opt, "-"):
		case a == "@" && i+1 < len(args):
			i++ // name @ url: the name was the previous word
		default:
			if tool == "pip" {
				r.installArg(ins, a, mounts)
			}
		}
	}
	r.img.installs = append(r.img.installs, ins)
}

// export records the requirements file an exporter writes (-o FILE,
// --output FILE, --output-file FILE, or > FILE).
func (r *dfReader) export(ws []string, mounts []mount) {
	out, input := "", ""
	for i := 1; i < len(ws); i++ {
		w := ws[i]
		switch {
		case w == "-o" || w == "--output" || w == "--output-file" || w == ">":
			if i+1 < len(ws) {
				out = ws[i+1]
				i++
			}
		case strings.HasPrefix(w, "--output=") || strings.HasPrefix(w, "--output-file="):
			_, out, _ = strings.Cut(w, "=")
		case strings.HasPrefix(w, ">") && len(w) > 1:
			out = w[1:]
		case !strings.HasPrefix(w, "-") && path.Base(ws[0]) == "pip-compile" && input == "":
			input = w
		}
	}
	if out == "" {
		return
	}
	if path.Base(ws[0]) == "pip-compile" {
		if input == "" {
			input = "requirements.in"
		}
		if c, ok := r.ctxFile(r.abs(input), mounts); ok {
			r.img.generated[r.abs(out)] = generated{input: c}
		}
		return
	}
	if d, ok := r.ctxDir(r.img.workdir, mounts); ok {
		r.img.generated[r.abs(out)] = generated{project: &project{dir: d}}
	}
}

// installArg records a positional pip install argument: a local project
// directory, or a requirement specifier.
func (r *dfReader) installArg(ins *install, a string, mounts []mount) {
	dir, extras := a, ""
	if i := strings.IndexByte(a, '['); i >= 0 {
		dir, extras = a[:i], strings.TrimSuffix(a[i+1:], "]")
	}
	if dir == "." || strings.HasPrefix(dir, "./") || strings.HasPrefix(dir, "/") || strings.HasPrefix(dir, "../") {
		if strings.HasSuffix(dir, ".whl") || archiveExt.MatchString(dir) || strings.HasSuffix(dir, ".zip") {
			ins.specs = append(ins.specs, path.Base(dir))
			return
		}
		if d, ok := r.ctxDir(r.abs(dir), mounts); ok {
			p := project{dir: d}
			if extras != "" {
				p.extras = strings.Split(extras, ",")
			}
			ins.projects = append(ins.projects, p)
		}
		return
	}
	ins.specs = append(ins.specs, a)
}

func (r *dfReader) reqNotCopied(given, p string, line int) {
	f := Finding{Severity: "warning", Code: "requirements-not-copied", File: r.df.rel, Line: line,
		Message: fmt.Sprintf("`pip install -r %s` reads %s, which no COPY puts in the image before this RUN", given, p)}
	if c := cleanSource(given); !path.IsAbs(given) && r.files.files[c] {
		f.Fix = fmt.Sprintf("add `COPY %s %s` before this RUN", c, p)
	} else {
		f.Fix = fmt.Sprintf("COPY the requirements file to %s before this RUN", p)
	}
	r.df.add(f)
}
