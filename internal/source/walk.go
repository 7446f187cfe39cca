package source

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"os"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/moby/patternmatcher"
	"github.com/zeebo/blake3"
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
	cached int32  // index of its stat cache entry, or -1
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
// reads directories only (file types come from getdents) and hands the
// entries it lists, a few at a time, to the workers that stat and hash them.
type walker struct {
	root     string
	matcher  *patternmatcher.PatternMatcher // nil: nothing is excluded
	prefixes bool                           // every exception is a plain prefix, so excluded dirs can be skipped
	dirs     []string                       // directories read, relative ("" is the root); append-only
	cache    *statCache
	cursor   int // the walk's position in cache.entries, which share its order
	blocks   entryList
	block    []entry // being filled; never reallocated, so handed-out parts stay put
	jobs     chan<- *job
	workers  int
	ctx      context.Context
	warn     func(string)
	buf      []byte // getdents buffer
}

// job is a run of entries, with the directories they refer to. Every worker
// is handed every job and takes its entries one at a time, so that a run of
// large files spreads over all of them.
type job struct {
	entries []entry
	dirs    []string
	next    atomic.Int32
}

const (
	jobSize   = 16
	blockSize = 64 * jobSize
)

type pendingDir struct {
	path   string
	dir    int32
	listed bool // already appended to entries
}

func newWalker(ctx context.Context, root string, patterns []string, cache *statCache, jobs chan<- *job, workers int, warn func(string)) (*walker, error) {
	w := &walker{root: root, warn: warn, prefixes: true, cache: cache, jobs: jobs, workers: workers, ctx: ctx, block: make([]entry, 0, blockSize)}
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

// run walks the whole context, then hands out the last entries.
func (w *walker) run() error {
	if err := w.walk("", noMatch, nil); err != nil {
		return err
	}
	if n := len(w.block); n%jobSize != 0 {
		if err := w.send(w.block[n-n%jobSize:]); err != nil {
			return err
		}
	}
	w.blocks = append(w.blocks, w.block)
	return nil
}

// entries returns everything listed, in walk order, once the workers are done.
func (w *walker) entries() entryList { return w.blocks }

// entryList holds entries in walk order in the blocks the walker filled,
// each but the last holding blockSize. Copying them into one slice cost a
// tenth of a cold hash of many small files.
type entryList [][]entry

func (l entryList) len() int {
	if len(l) == 0 {
		return 0
	}
	return (len(l)-1)*blockSize + len(l[len(l)-1])
}

func (l entryList) at(i int) *entry { return &l[i/blockSize][i%blockSize] }

// all yields each entry with its index, in walk order.
func (l entryList) all() iter.Seq2[int, *entry] {
	return func(yield func(int, *entry) bool) {
		i := 0
		for _, b := range l {
			for j := range b {
				if !yield(i, &b[j]) {
					return
				}
				i++
			}
		}
	}
}

// add lists an entry, pairs a file with its stat cache entry, and hands out
// each completed run of jobSize entries.
func (w *walker) add(e entry) error {
	e.cached = -1
	switch e.kind {
	case File:
		c := w.cache.entries
		for w.cursor < len(c) && pathCompare(c[w.cursor].path, e.path) < 0 {
			w.cursor++
		}
		if w.cursor < len(c) && c[w.cursor].path == e.path {
			e.cached = int32(w.cursor)
		}
	case Symlink:
		e.digest = blake3.Sum256([]byte(e.link))
	}
	if len(w.block) == cap(w.block) {
		w.blocks = append(w.blocks, w.block)
		w.block = make([]entry, 0, blockSize)
	}
	w.block = append(w.block, e)
	if n := len(w.block); n%jobSize == 0 {
		return w.send(w.block[n-jobSize : n])
	}
	return nil
}

func (w *walker) send(entries []entry) error {
	j := &job{entries: entries, dirs: w.dirs}
	for range w.workers {
		select {
		case w.jobs <- j:
		case <-w.ctx.Done():
			return w.ctx.Err()
		}
	}
	return nil
}

// walk lists the directory rel (with its matcher results).
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
				if err := w.list(parents); err != nil {
					return err
				}
				if err := w.add(entry{path: p, dir: here, kind: Dir}); err != nil {
					return err
				}
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
		if err := w.list(parents); err != nil {
			return err
		}
		if err := w.add(e); err != nil {
			return err
		}
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
func (w *walker) list(parents []*pendingDir) error {
	for _, d := range parents {
		if !d.listed {
			if err := w.add(entry{path: d.path, dir: d.dir, kind: Dir}); err != nil {
				return err
			}
			d.listed = true
		}
	}
	return nil
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
