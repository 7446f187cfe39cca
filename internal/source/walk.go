package source

import (
	"bytes"
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
	dir    int32  // index of the directory holding it, in walker.dirs
	kind   Kind   // regular files are File until their mode is known
	st     stat   // files only
	link   string // symlink target
	digest [32]byte
}

// name is the entry's last path component.
func (e *entry) name() string { return e.path[strings.LastIndexByte(e.path, '/')+1:] }

// walker lists a context the way BuildKit's file sync (fsutil's filter)
// does: depth first, names sorted within each directory, a path excluded when
// the ignore patterns match it given its parent's match results, and an
// excluded directory still sent when something below it is re-included. It
// reads directories only (file types come from getdents); files are stat'ed
// and hashed afterwards, in parallel.
type walker struct {
	root     string
	matcher  *patternmatcher.PatternMatcher // nil: nothing is excluded
	prefixes bool                           // every exception is a plain prefix, so excluded dirs can be skipped
	dirs     []string                       // directories read, relative ("" is the root)
	entries  []entry
	warn     func(string)
	buf      []byte // getdents buffer
}

type pendingDir struct {
	path   string
	dir    int32
	listed bool // already appended to entries
}

func newWalker(root string, patterns []string, sizeHint int, warn func(string)) (*walker, error) {
	w := &walker{root: root, warn: warn, prefixes: true, entries: make([]entry, 0, sizeHint)}
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
	children, err := w.readDir(dirPath)
	if err != nil {
		return err
	}
	here := int32(len(w.dirs))
	w.dirs = append(w.dirs, rel)
	for _, child := range children {
		p := child.name
		if rel != "" {
			p = rel + "/" + p
		}
		typ := child.typ
		excluded, childInfo := false, patternmatcher.MatchInfo{}
		if w.matcher != nil {
			if excluded, childInfo, err = w.matcher.MatchesUsingParentResults(p, info); err != nil {
				return err
			}
			if excluded && typ.IsDir() && w.prefixes && !w.exceptionBelow(p) {
				continue // nothing below can be re-included
			}
		}
		if typ.IsDir() {
			d := &pendingDir{path: p, dir: here}
			if !excluded {
				w.list(parents)
				w.entries = append(w.entries, entry{path: p, dir: here, kind: Dir})
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
		e := entry{path: p, dir: here}
		switch {
		case typ.IsRegular():
			e.kind = File
		case typ&fs.ModeSymlink != 0:
			e.kind = Symlink
			if e.link, err = os.Readlink(dirPath + "/" + child.name); err != nil {
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

type dirent struct {
	name string
	typ  fs.FileMode
}

// readDir lists a directory with getdents(2) into a reused buffer, sorted by
// name. Types come from the directory itself; where the file system does not
// record them, from lstat.
func (w *walker) readDir(dir string) ([]dirent, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	defer unix.Close(fd)
	if w.buf == nil {
		w.buf = make([]byte, 64<<10)
	}
	var out []dirent
	for {
		n, err := unix.Getdents(fd, w.buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "readdir", Path: dir, Err: err}
		}
		if n <= 0 {
			break
		}
		for b := w.buf[:n]; len(b) >= 19; {
			reclen := int(b[16]) | int(b[17])<<8
			if reclen < 19 || reclen > len(b) {
				return nil, &os.PathError{Op: "readdir", Path: dir, Err: unix.EBADMSG}
			}
			typ, name := b[18], b[19:reclen]
			if i := bytes.IndexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			b = b[reclen:]
			if string(name) == "." || string(name) == ".." {
				continue
			}
			d := dirent{name: string(name)}
			switch typ {
			case unix.DT_REG:
			case unix.DT_DIR:
				d.typ = fs.ModeDir
			case unix.DT_LNK:
				d.typ = fs.ModeSymlink
			default: // a special file, or a file system that does not say
				info, err := os.Lstat(dir + "/" + d.name)
				if errors.Is(err, os.ErrNotExist) {
					continue // removed meanwhile
				}
				if err != nil {
					return nil, err
				}
				d.typ = info.Mode().Type()
			}
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b dirent) int { return strings.Compare(a.name, b.name) })
	return out, nil
}

// list appends the excluded parent directories of an entry being sent, as
// BuildKit sends the directories that hold a re-included path.
func (w *walker) list(parents []*pendingDir) {
	for _, d := range parents {
		if !d.listed {
			w.entries = append(w.entries, entry{path: d.path, dir: d.dir, kind: Dir})
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

// pathCompare orders paths as the walk emits them: component by component,
// so "a/b" comes before "a.txt" ('/' sorts before every other byte).
func pathCompare(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		if x == '/' {
			return -1
		}
		if y == '/' {
			return 1
		}
		if x < y {
			return -1
		}
		return 1
	}
	return len(a) - len(b)
}
