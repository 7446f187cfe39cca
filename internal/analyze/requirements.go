package analyze

import (
	"bufio"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/lambdacontainer/pulumi-lambdacontainer/internal/pyindex"
)

// requirement is one declared distribution.
type requirement struct {
	name   string // normalised
	extras []string
}

// reqReader reads requirements files, pyproject.toml and friends from the
// build context, following includes.
type reqReader struct {
	files    *fileSet
	seen     map[string]bool
	reqs     []requirement
	findings []Finding
	python   string          // requires-python / python_requires, as the lowest version it allows
	poetry   map[string]bool // the pyproject.toml files that declare their dependencies for Poetry
}

var reqName = regexp.MustCompile(`^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[([^\]]*)\])?`)

// spec parses a PEP 508 requirement specifier, a URL or a file name, and
// returns the distribution it names.
func parseSpec(s string) (name string, extras []string, ok bool) {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, " @ "); i > 0 || strings.Contains(s, "@") && !strings.Contains(s, "://") && !strings.HasPrefix(s, "git@") {
		if i < 0 {
			i = strings.IndexByte(s, '@')
		}
		s = strings.TrimSpace(s[:i])
	} else if strings.Contains(s, "://") || strings.HasPrefix(s, "git@") || strings.HasPrefix(s, "file:") {
		return nameFromURL(s)
	}
	if base := path.Base(s); strings.HasSuffix(base, ".whl") || archiveExt.MatchString(base) || strings.HasSuffix(base, ".zip") {
		return nameFromFile(base)
	}
	m := reqName.FindStringSubmatch(s)
	if m == nil {
		return "", nil, false
	}
	rest := strings.TrimSpace(s[len(m[0]):])
	if rest != "" && !strings.ContainsAny(rest[:1], "<>=!~;(,") {
		return "", nil, false
	}
	for _, e := range strings.Split(m[2], ",") {
		if e = strings.TrimSpace(e); e != "" {
			extras = append(extras, pyindex.Normalize(e))
		}
	}
	return pyindex.Normalize(m[1]), extras, true
}

// nameFromURL reads a distribution name from a VCS or archive URL: its
// #egg= fragment, else its file or repository name.
func nameFromURL(s string) (string, []string, bool) {
	if u, err := url.Parse(strings.TrimPrefix(s, "git+")); err == nil {
		if q, err := url.ParseQuery(u.Fragment); err == nil && q.Get("egg") != "" {
			return parseSpec(q.Get("egg"))
		}
	}
	s, _, _ = strings.Cut(s, "#")
	s, _, _ = strings.Cut(s, "?")
	base := path.Base(strings.TrimSuffix(s, "/"))
	if at := strings.LastIndexByte(base, '@'); at > 0 {
		base = base[:at] // repo.git@v1.2
	}
	return nameFromFile(base)
}

var versionPart = regexp.MustCompile(`-\d`)

var validName = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$`)

// nameFromFile reads a distribution name from a wheel or sdist file name.
func nameFromFile(base string) (string, []string, bool) {
	base = strings.TrimSuffix(base, ".git")
	if strings.HasSuffix(base, ".whl") {
		base, _, _ = strings.Cut(base, "-")
	} else {
		if loc := versionPart.FindStringIndex(base); loc != nil {
			base = base[:loc[0]]
		}
		base = archiveExt.ReplaceAllString(strings.TrimSuffix(base, ".zip"), "")
	}
	if !validName.MatchString(base) {
		return "", nil, false
	}
	return pyindex.Normalize(base), nil, true
}

func (r *reqReader) add(name string, extras []string) {
	r.reqs = append(r.reqs, requirement{name: name, extras: extras})
}

func (r *reqReader) readFile(rel string) ([]byte, error) {
	if !r.files.files[rel] {
		return nil, nil // not sent: the build fails on it, and the Dockerfile findings say why
	}
	data, err := os.ReadFile(filepath.Join(r.files.root, filepath.FromSlash(rel)))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil // a dangling symlink: pip fails on it, and the build says so
	}
	return data, err
}

// requirementsFile reads a requirements file (relative to the context);
// constraints only constrain, so a constraints file declares nothing.
func (r *reqReader) requirementsFile(rel string, constraints bool, depth int) error {
	key := fmt.Sprint(rel, constraints)
	if r.seen[key] || depth > 20 {
		return nil
	}
	r.seen[key] = true
	data, err := r.readFile(rel)
	if err != nil || data == nil {
		return err
	}
	lines := joinContinuations(string(data))
	for _, l := range lines {
		text := stripComment(l.text)
		if text == "" {
			continue
		}
		if strings.HasPrefix(text, "-") {
			if err := r.option(rel, l.line, text, constraints, depth); err != nil {
				return err
			}
			continue
		}
		if constraints {
			continue
		}
		if i := strings.Index(text, " --"); i >= 0 {
			text = strings.TrimSpace(text[:i]) // per-requirement options: --hash=...
		}
		spec := text
		if strings.Contains(spec, "://") {
			if i := strings.Index(spec, " ;"); i >= 0 {
				spec = spec[:i]
			}
		} else if i := strings.IndexByte(spec, ';'); i >= 0 {
			spec = spec[:i] // an environment marker: still declared
		}
		if isLocalPath(spec) {
			r.localProject(path.Join(path.Dir(rel), spec), nil, depth)
			continue
		}
		name, extras, ok := parseSpec(spec)
		if !ok {
			r.findings = append(r.findings, Finding{Severity: "warning", Code: "requirements-syntax", File: rel, Line: l.line,
				Message: fmt.Sprintf("`%s` is not a requirement pip understands", text),
				Fix:     "write it as `name`, `name==version`, `name[extra]` or `name @ url`"})
			continue
		}
		r.add(name, extras)
	}
	return nil
}

func isLocalPath(s string) bool {
	base, _, _ := strings.Cut(s, "[")
	return base == "." || base == ".." || strings.HasPrefix(base, "./") || strings.HasPrefix(base, "../") ||
		strings.HasPrefix(base, "/") && !strings.HasSuffix(base, ".whl")
}

func (r *reqReader) option(rel string, line int, text string, constraints bool, depth int) error {
	opt, val := text, ""
	if i := strings.IndexAny(text, " \t="); i >= 0 {
		opt, val = text[:i], strings.TrimSpace(strings.TrimLeft(text[i:], " \t="))
	} else if len(text) > 2 && text[1] != '-' {
		opt, val = text[:2], text[2:]
	}
	switch opt {
	case "-r", "--requirement", "-c", "--constraint":
		inc := path.Join(path.Dir(rel), val)
		if !r.files.files[inc] {
			f := Finding{Severity: "error", Code: "requirements-include-missing", File: rel, Line: line,
				Message: fmt.Sprintf("`%s` includes %s, which is not in the build context", text, inc),
				Fix:     fmt.Sprintf("create %s, or fix the path (it is relative to %s)", inc, rel)}
			if pat, ok := r.files.ignoredBy(inc); ok {
				f.Message = fmt.Sprintf("`%s` includes %s, which %s excludes from the build context", text, inc, r.files.ignoreFile)
				f.Fix = fmt.Sprintf("re-include it in %s with `!%s`", r.files.ignoreFile, inc)
				if pat != "" {
					f.Fix = fmt.Sprintf("remove `%s` from %s, or re-include it with `!%s`", pat, r.files.ignoreFile, inc)
				}
			}
			r.findings = append(r.findings, f)
			return nil
		}
		return r.requirementsFile(inc, constraints || opt == "-c" || opt == "--constraint", depth+1)
	case "-e", "--editable":
		if constraints {
			return nil
		}
		if isLocalPath(val) || !strings.Contains(val, ":") {
			r.localProject(path.Join(path.Dir(rel), val), nil, depth)
		} else if name, extras, ok := parseSpec(val); ok {
			r.add(name, extras)
		}
	}
	return nil
}

type physLine struct {
	text string
	line int
}

// joinContinuations joins lines that end in a backslash, keeping the first line's number.
func joinContinuations(s string) []physLine {
	var out []physLine
	var cur strings.Builder
	start := 0
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		n++
		l := strings.TrimRight(sc.Text(), "\r")
		if cur.Len() == 0 {
			start = n
		}
		if strings.HasSuffix(l, "\\") {
			cur.WriteString(strings.TrimSuffix(l, "\\"))
			cur.WriteByte(' ')
			continue
		}
		cur.WriteString(l)
		out = append(out, physLine{cur.String(), start})
		cur.Reset()
	}
	if cur.Len() > 0 {
		out = append(out, physLine{cur.String(), start})
	}
	return out
}

var commentRE = regexp.MustCompile(`(^|\s)#.*$`)

func stripComment(s string) string {
	return strings.TrimSpace(commentRE.ReplaceAllString(s, ""))
}

// pyproject is the part of pyproject.toml the analyzer reads.
type pyproject struct {
	Project struct {
		Name                 string
		Dependencies         []string
		OptionalDependencies map[string][]string `toml:"optional-dependencies"`
		RequiresPython       string              `toml:"requires-python"`
	}
	Tool struct {
		Poetry struct {
			Name         string
			Dependencies map[string]any
		}
	}
}

// localProject reads the project in a context directory that pip builds:
// its dependencies (with the extras asked for) and its own name, which it
// provides.
func (r *reqReader) localProject(dir string, extras []string, depth int) {
	dir = strings.TrimPrefix(path.Clean(dir), "./")
	if dir == "." {
		dir = ""
	}
	key := "project:" + dir + fmt.Sprint(extras)
	if r.seen[key] || depth > 20 {
		return
	}
	r.seen[key] = true
	rel := path.Join(dir, "pyproject.toml")
	if r.files.files[rel] {
		r.pyprojectFile(rel, extras)
	} else if name := path.Base(dir); dir != "" && validName.MatchString(name) {
		r.add(pyindex.Normalize(name), nil) // a setup.py project: named after its directory
	}
	if cfg := path.Join(dir, "setup.cfg"); r.files.files[cfg] {
		r.setupCfg(cfg)
	}
}

func (r *reqReader) pyprojectFile(rel string, extras []string) {
	data, err := r.readFile(rel)
	if err != nil || data == nil {
		return
	}
	var p pyproject
	if _, err := toml.Decode(string(data), &p); err != nil {
		f := Finding{Severity: "error", Code: "pyproject-syntax", File: rel, Line: 1,
			Message: fmt.Sprintf("%s does not parse: %v", rel, err), Fix: "fix the TOML at that line; pip cannot build the project"}
		var perr toml.ParseError
		if errors.As(err, &perr) {
			f.Line = max(perr.Position.Line, 1)
			f.Message = fmt.Sprintf("%s does not parse: %s", rel, perr.Message)
		}
		r.findings = append(r.findings, f)
		return
	}
	deps := p.Project.Dependencies
	for _, e := range extras {
		for k, v := range p.Project.OptionalDependencies {
			if pyindex.Normalize(k) == pyindex.Normalize(e) {
				deps = append(deps, v...)
			}
		}
	}
	for _, d := range deps {
		spec, _, _ := strings.Cut(d, ";")
		if name, ex, ok := parseSpec(spec); ok && name != pyindex.Normalize(p.Project.Name) {
			r.add(name, ex)
		} else if ok {
			r.localExtras(rel, p, ex)
		}
	}
	for name := range p.Tool.Poetry.Dependencies {
		if !strings.EqualFold(name, "python") {
			r.add(pyindex.Normalize(name), nil)
		}
	}
	if len(p.Project.Dependencies) == 0 && len(p.Tool.Poetry.Dependencies) > 0 {
		r.poetry[rel] = true
	}
	for _, n := range []string{p.Project.Name, p.Tool.Poetry.Name} {
		if n != "" {
			r.add(pyindex.Normalize(n), nil)
		}
	}
	if r.python == "" {
		r.python = lowestPython(p.Project.RequiresPython)
	}
}

// localExtras follows a project's self-reference, `proj[extra]` in its own
// optional dependencies.
func (r *reqReader) localExtras(rel string, p pyproject, extras []string) {
	for _, e := range extras {
		key := "self:" + rel + e
		if r.seen[key] {
			continue
		}
		r.seen[key] = true
		for k, v := range p.Project.OptionalDependencies {
			if pyindex.Normalize(k) != e {
				continue
			}
			for _, d := range v {
				spec, _, _ := strings.Cut(d, ";")
				if name, ex, ok := parseSpec(spec); ok && name == pyindex.Normalize(p.Project.Name) {
					r.localExtras(rel, p, ex)
				} else if ok {
					r.add(name, ex)
				}
			}
		}
	}
}

// setupCfg reads [options] install_requires and python_requires.
func (r *reqReader) setupCfg(rel string) {
	data, err := r.readFile(rel)
	if err != nil || data == nil {
		return
	}
	section, key := "", ""
	for _, l := range joinContinuations(string(data)) {
		text := l.text
		trimmed := strings.TrimSpace(text)
		switch {
		case trimmed == "" || strings.HasPrefix(trimmed, "#") || strings.HasPrefix(trimmed, ";"):
			continue
		case strings.HasPrefix(trimmed, "["):
			section, key = strings.Trim(trimmed, "[] "), ""
			continue
		}
		value := trimmed
		if text[0] != ' ' && text[0] != '\t' {
			k, v, ok := strings.Cut(trimmed, "=")
			if !ok {
				continue
			}
			key, value = strings.TrimSpace(k), strings.TrimSpace(v)
		}
		if section != "options" || value == "" {
			continue
		}
		switch key {
		case "install_requires":
			spec, _, _ := strings.Cut(value, ";")
			if name, ex, ok := parseSpec(spec); ok {
				r.add(name, ex)
			}
		case "python_requires":
			if r.python == "" {
				r.python = lowestPython(value)
			}
		}
	}
}

var lowerBound = regexp.MustCompile(`(>=|~=|==|>)\s*3\.(\d+)`)

// lowestPython reads the lowest Python 3 version a requires-python allows.
func lowestPython(spec string) string {
	m := lowerBound.FindStringSubmatch(spec)
	if m == nil {
		return ""
	}
	return "3." + m[2] // also for >3.10, which allows 3.10.1
}
