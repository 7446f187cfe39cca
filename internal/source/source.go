// Package source owns the build context: it walks it exactly as BuildKit
// sends it (honouring <Dockerfile>.dockerignore, then .dockerignore), hashes
// it into a digest that is stable across machines and checkouts, keeps
// per-file digests so a diff can name what changed, and remembers file
// digests in a stat cache so that an unchanged context re-hashes without
// reading a file.
package source

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"

	"github.com/moby/patternmatcher/ignorefile"
	zeebo "github.com/zeebo/blake3"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"
	"lukechampine.com/blake3"
)

// Algorithm prefixes every digest this package makes.
const Algorithm = "blake3"

// Options says what to hash.
type Options struct {
	Context    string   // the build context directory
	Dockerfile string   // the Dockerfile; relative paths are relative to Context; default Context/Dockerfile
	Triggers   []string // extra values folded into the hash
	// CacheDir holds the stat cache; empty means the user cache directory,
	// "off" disables it.
	CacheDir string
	// Warn receives warnings (skipped special files, an ignored corrupt cache).
	Warn func(string)
}

// Tree is a hashed build context.
type Tree struct {
	Hash       string // "blake3:<hex>" over the entries, the Dockerfile and the triggers
	Dockerfile string // the Dockerfile, relative to the context
	IgnoreFile string // the ignore file that applied, relative to the context; empty if none
	Files      int    // regular files and symlinks sent
	Bytes      int64  // their total size
	Hashed     int    // files whose contents were read (not served by the stat cache)
	entries    []entry
	dockerfile [32]byte
}

// Hash walks and hashes a build context.
func Hash(ctx context.Context, opt Options) (*Tree, error) {
	if opt.Warn == nil {
		opt.Warn = func(string) {}
	}
	root, err := filepath.Abs(opt.Context)
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(root); err != nil {
		return nil, fmt.Errorf("build context %s: %w", root, err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("build context %s is not a directory", root)
	}
	if root, err = filepath.EvalSymlinks(root); err != nil {
		return nil, err
	}
	dockerfile, err := resolveDockerfile(root, opt.Dockerfile)
	if err != nil {
		return nil, err
	}
	t := &Tree{Dockerfile: dockerfile}
	patterns, ignoreFile, err := ignorePatterns(root, dockerfile)
	if err != nil {
		return nil, err
	}
	t.IgnoreFile = ignoreFile
	w, err := newWalker(root, patterns, opt.Warn)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ignoreFile, err)
	}
	if err := w.walk("", noMatch, nil); err != nil {
		return nil, err
	}
	t.entries = w.entries

	cache := openCache(opt.CacheDir, root, opt.Warn)
	if t.Hashed, err = digestAll(ctx, root, t.entries, cache); err != nil {
		return nil, err
	}
	if t.Hashed > 0 || cache.stale() {
		cache.save(t.entries, opt.Warn)
	}
	if t.dockerfile, err = fileDigest(filepath.Join(root, filepath.FromSlash(dockerfile))); err != nil {
		return nil, err
	}
	for _, e := range t.entries {
		if e.kind != Dir {
			t.Files++
			t.Bytes += e.st.size
		}
	}
	t.Hash = t.sum(opt.Triggers)
	return t, nil
}

// resolveDockerfile returns the Dockerfile's slash path relative to root,
// refusing one outside the context.
func resolveDockerfile(root, dockerfile string) (string, error) {
	if dockerfile == "" {
		dockerfile = "Dockerfile"
		if _, err := os.Lstat(filepath.Join(root, dockerfile)); errors.Is(err, os.ErrNotExist) {
			if _, err := os.Lstat(filepath.Join(root, "dockerfile")); err == nil {
				dockerfile = "dockerfile" // BuildKit accepts the lower-case name too
			}
		}
	}
	abs := dockerfile
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(root, abs)
	}
	if dir, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil {
		abs = filepath.Join(dir, filepath.Base(abs))
	}
	rel, err := filepath.Rel(root, abs)
	if err != nil || rel == "." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || rel == ".." {
		return "", fmt.Errorf("the Dockerfile %s is outside the build context %s; move it into the context", abs, root)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("the Dockerfile %s: %w", abs, err)
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("the Dockerfile %s is not a regular file", abs)
	}
	return filepath.ToSlash(rel), nil
}

// ignorePatterns reads the ignore file BuildKit would use: <Dockerfile>.dockerignore
// beside the Dockerfile, else .dockerignore at the context's root.
func ignorePatterns(root, dockerfile string) ([]string, string, error) {
	for _, name := range []string{dockerfile + ".dockerignore", ".dockerignore"} {
		f, err := os.Open(filepath.Join(root, filepath.FromSlash(name)))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		patterns, err := ignorefile.ReadAll(f)
		f.Close()
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", name, err)
		}
		return patterns, name, nil
	}
	return nil, "", nil
}

// digestAll fills in every file's digest, from the cache when its stat is
// unchanged, else by reading it, on all cores. It returns how many it read.
func digestAll(ctx context.Context, root string, entries []entry, cache *statCache) (int, error) {
	var todo []int
	for i := range entries {
		e := &entries[i]
		switch e.kind {
		case Symlink:
			e.digest = blake3.Sum256([]byte(e.link))
		case File, Executable:
			if d, ok := cache.lookup(e.path, e.st); ok {
				e.digest = d
			} else {
				todo = append(todo, i)
			}
		}
	}
	rootFd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, &os.PathError{Op: "open", Path: root, Err: err}
	}
	defer unix.Close(rootFd)
	g, ctx := errgroup.WithContext(ctx)
	var next atomic.Int64
	for range runtime.GOMAXPROCS(0) {
		g.Go(func() error {
			d := newDigester()
			for {
				n := int(next.Add(1)) - 1
				if n >= len(todo) || ctx.Err() != nil {
					return ctx.Err()
				}
				e := &entries[todo[n]]
				var err error
				if e.digest, err = d.file(rootFd, e.path); err != nil {
					return &os.PathError{Op: "read", Path: root + "/" + e.path, Err: err}
				}
			}
		})
	}
	return len(todo), g.Wait()
}

// fileDigest digests one file by its absolute path.
func fileDigest(path string) ([32]byte, error) {
	d, err := newDigester().file(unix.AT_FDCWD, path)
	if err != nil {
		return d, &os.PathError{Op: "read", Path: path, Err: err}
	}
	return d, nil
}

// largeFile is the size from which a file is mapped and hashed in windows by
// an AVX-512 BLAKE3 (fastest on large inputs) instead of being read whole
// into a buffer and hashed by one that is fastest on small inputs. Both
// compute standard BLAKE3.
const (
	largeFile  = 512 << 10
	mmapWindow = 16 << 20
)

// digester hashes files with buffers reused from file to file.
type digester struct {
	buf   []byte
	small *zeebo.Hasher
}

func newDigester() *digester { return &digester{buf: make([]byte, largeFile), small: zeebo.New()} }

func (d *digester) file(dirFd int, path string) ([32]byte, error) {
	var sum [32]byte
	fd, err := unix.Openat(dirFd, path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return sum, err
	}
	defer unix.Close(fd)
	n := 0
	for n < len(d.buf) {
		m, err := unix.Read(fd, d.buf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return sum, err
		}
		if m == 0 {
			d.small.Reset()
			d.small.Write(d.buf[:n])
			d.small.Sum(sum[:0])
			return sum, nil
		}
		n += m
	}
	return largeDigest(fd, d.buf)
}

// largeDigest hashes a large file through memory-mapped windows, releasing
// each window once hashed so that memory stays bounded.
func largeDigest(fd int, buf []byte) ([32]byte, error) {
	var sum [32]byte
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return sum, err
	}
	h := blake3.New(32, nil)
	var off int64
	for off < st.Size {
		size := int(min(mmapWindow, st.Size-off))
		m, err := unix.Mmap(fd, off, size, unix.PROT_READ, unix.MAP_SHARED|unix.MAP_POPULATE)
		if err != nil {
			return sum, err
		}
		h.Write(m)
		unix.Munmap(m)
		off += int64(size)
	}
	// A file that grew while being read: stream the rest.
	if _, err := unix.Seek(fd, off, io.SeekStart); err != nil {
		return sum, err
	}
	for {
		n, err := unix.Read(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return sum, err
		}
		if n == 0 {
			break
		}
		h.Write(buf[:n])
	}
	copy(sum[:], h.Sum(nil))
	return sum, nil
}

// sum is the tree's hash: a versioned, length-prefixed encoding of every
// entry (kind, path, digest), the Dockerfile, and the triggers. Only the
// executable bit of a mode reaches it, never owners, umask bits or times.
func (t *Tree) sum(triggers []string) string {
	h := blake3.New(32, nil)
	var buf bytes.Buffer
	field := func(s string) {
		buf.Reset()
		buf.Write(binary.AppendUvarint(nil, uint64(len(s))))
		buf.WriteString(s)
		h.Write(buf.Bytes())
	}
	field("lambdacontainer.source.v1")
	for _, e := range t.entries {
		h.Write([]byte{byte(e.kind)})
		field(e.path)
		if e.kind != Dir {
			h.Write(e.digest[:])
		}
	}
	field("dockerfile")
	field(t.Dockerfile)
	h.Write(t.dockerfile[:])
	for _, v := range triggers {
		field("trigger")
		field(v)
	}
	return Algorithm + ":" + hex.EncodeToString(h.Sum(nil))
}
