package analyze

import (
	"errors"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// fileSet is the build context as BuildKit sends it: Input.Files, with the
// directories they imply, and the ignore file that left the rest out.
type fileSet struct {
	root       string
	files      map[string]bool
	dirs       map[string]bool // directories holding sent files; "" is the root
	list       []string        // files, sorted
	ignoreFile string          // relative to the context; "" if none
	patterns   []string
}

func newFileSet(root string, paths []string, dockerfile string) (*fileSet, error) {
	s := &fileSet{root: root, files: make(map[string]bool, len(paths)), dirs: map[string]bool{"": true}}
	for _, p := range paths {
		s.files[p] = true
		for d := path.Dir(p); d != "." && !s.dirs[d]; d = path.Dir(d) {
			s.dirs[d] = true
		}
	}
	s.list = slices.Sorted(maps.Keys(s.files))
	for _, name := range []string{dockerfile + ".dockerignore", ".dockerignore"} {
		f, err := os.Open(filepath.Join(root, filepath.FromSlash(name)))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		s.patterns, err = ignorefile.ReadAll(f)
		f.Close()
		if err != nil {
			return nil, err
		}
		s.ignoreFile = name
		break
	}
	return s, nil
}

// match lists the context paths (files and directories) a COPY source
// names: itself, or what its wildcards match.
func (s *fileSet) match(src string) []string {
	if !hasGlob(src) {
		if s.files[src] || s.dirs[src] {
			return []string{src}
		}
		return nil
	}
	var out []string
	for _, set := range []map[string]bool{s.files, s.dirs} {
		for p := range set {
			if ok, _ := path.Match(src, p); ok && p != "" {
				out = append(out, p)
			}
		}
	}
	slices.Sort(out)
	return out
}

// under lists the files below a directory ("" is the root).
func (s *fileSet) under(dir string) []string {
	if dir == "" {
		return s.list
	}
	prefix := dir + "/"
	i, _ := slices.BinarySearch(s.list, prefix)
	j := i
	for j < len(s.list) && strings.HasPrefix(s.list[j], prefix) {
		j++
	}
	return s.list[i:j]
}

// ignoredBy reports whether a path that BuildKit does not send exists on
// disk, so the ignore file left it out, and the pattern that did.
func (s *fileSet) ignoredBy(p string) (pattern string, ignored bool) {
	if s.ignoreFile == "" {
		return "", false
	}
	if hasGlob(p) {
		m, _ := filepath.Glob(filepath.Join(s.root, filepath.FromSlash(p)))
		ignored = len(m) > 0
	} else {
		_, err := os.Lstat(filepath.Join(s.root, filepath.FromSlash(p)))
		ignored = err == nil
	}
	if !ignored {
		return "", false
	}
	for _, pat := range s.patterns {
		if strings.HasPrefix(pat, "!") {
			continue
		}
		if ok, _ := patternmatcher.MatchesOrParentMatches(p, []string{pat}); ok {
			pattern = pat
		} else if hasGlob(p) {
			if ok, _ := path.Match(p, pat); ok {
				pattern = pat
			}
		}
	}
	return pattern, true
}
