package source

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/moby/patternmatcher"
	"golang.org/x/sys/unix"
)

// Kind is what an entry of the context is.
type Kind byte

const (
	File       Kind = 'f' // a regular file
	Executable Kind = 'x' // a regular file with an executable bit set
	Symlink    Kind = 'l' // a symbolic link, hashed as its target text
	Dir        Kind = 'd' // a directory
)

// stat is the part of lstat(2) the stat cache keys on.
type stat struct {
	size  int64
	mtime int64 // nanoseconds
	ino   uint64
	mode  uint32
}

// entry is one path BuildKit would send.
type entry struct {
	path   string // slash-separated, relative to the context
	kind   Kind
	st     stat
	link   string   // symlink target
	digest [32]byte // content digest (files), target digest (links)
}

// walker lists a context the way BuildKit's file sync (fsutil's filter)
// does: depth first, names sorted within each directory, a path excluded when
// the ignore patterns match it given its parent's match results, an excluded
// directory still sent when something below it is re-included.
type walker struct {
	root     string
	matcher  *patternmatcher.PatternMatcher // nil: nothing is excluded
	prefixes bool                           // every exception is a plain prefix, so excluded dirs can be skipped
	entries  []entry
	warn     func(string)
}

type pendingDir struct {
	path   string
	st     stat
	listed bool // already appended to entries
}

func newWalker(root string, patterns []string, warn func(string)) (*walker, error) {
	w := &walker{root: root, warn: warn, prefixes: true}
	if len(patterns) == 0 {
		return w, nil
	}
	m, err := patternmatcher.New(patterns)
	if err != nil {
		return nil, err
	}
	w.matcher = m
	for _, p := range m.Patterns() {
		if p.Exclusion() && strings.ContainsAny(trimGlob(p.String()), `*[]?^\`) {
			w.prefixes = false
		}
	}
	return w, nil
}

// trimGlob drops a trailing "/**" or "/*", as fsutil does before comparing
// an exception with a directory.
func trimGlob(p string) string {
	p = strings.TrimSuffix(p, "/**")
	return strings.TrimSuffix(p, "/*")
}

// walk lists the directory rel (with its matcher results) into w.entries.
func (w *walker) walk(rel string, info patternmatcher.MatchInfo, parents []*pendingDir) error {
	dirPath := w.root
	if rel != "" {
		dirPath += "/" + rel
	}
	f, err := os.Open(dirPath)
	if err != nil {
		return err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return fmt.Errorf("reading directory %s: %w", dirPath, err)
	}
	slices.Sort(names)
	fd := int(f.Fd())
	for _, name := range names {
		p := name
		if rel != "" {
			p = rel + "/" + name
		}
		var st unix.Stat_t
		if err := unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			if errors.Is(err, unix.ENOENT) {
				continue // removed while walking
			}
			return &fs.PathError{Op: "lstat", Path: dirPath + "/" + name, Err: err}
		}
		isDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
		excluded, childInfo := false, patternmatcher.MatchInfo{}
		if w.matcher != nil {
			if excluded, childInfo, err = w.matcher.MatchesUsingParentResults(p, info); err != nil {
				return err
			}
			if excluded && isDir && w.prefixes && !w.exceptionBelow(p) {
				continue // nothing below can be re-included
			}
		}
		s := stat{size: st.Size, mtime: st.Mtim.Nano(), ino: st.Ino, mode: st.Mode}
		if isDir {
			d := &pendingDir{path: p, st: s}
			if !excluded {
				w.list(parents)
				w.entries = append(w.entries, entry{path: p, kind: Dir, st: s})
				d.listed = true
			}
			err := w.walk(p, childInfo, append(parents, d))
			if err != nil && excluded && errors.Is(err, os.ErrPermission) {
				err = nil // BuildKit skips an unreadable excluded directory too
			}
			if err != nil {
				return err
			}
			continue
		}
		if excluded {
			continue
		}
		e := entry{path: p, st: s}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			e.kind = File
			if st.Mode&0o111 != 0 {
				e.kind = Executable
			}
		case unix.S_IFLNK:
			e.kind = Symlink
			if e.link, err = os.Readlink(dirPath + "/" + name); err != nil {
				return err
			}
		default:
			w.warn(fmt.Sprintf("skipping %s: not a regular file, directory or symlink (a socket, device or pipe is never sent to the builder)", p))
			continue
		}
		w.list(parents)
		w.entries = append(w.entries, e)
	}
	return nil
}

// list appends the excluded parent directories of an entry being sent, as
// BuildKit sends the directories that hold a re-included path.
func (w *walker) list(parents []*pendingDir) {
	for _, d := range parents {
		if !d.listed {
			w.entries = append(w.entries, entry{path: d.path, kind: Dir, st: d.st})
			d.listed = true
		}
	}
}

// exceptionBelow reports whether an exception pattern could re-include
// something inside the excluded directory dir.
func (w *walker) exceptionBelow(dir string) bool {
	if !w.matcher.Exclusions() {
		return false
	}
	for _, p := range w.matcher.Patterns() {
		if p.Exclusion() && strings.HasPrefix(trimGlob(p.String())+"/", dir+"/") {
			return true
		}
	}
	return false
}
