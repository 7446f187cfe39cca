package source

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"unsafe"

	"github.com/moby/patternmatcher"
	"github.com/zeebo/blake3"
)

var noMatch = patternmatcher.MatchInfo{}

// cacheMagic starts every stat cache file; a file without it is foreign.
const cacheMagic = "LCSTAT01"

// statCache remembers file digests by (path, size, mtime, inode, mode), as
// git's index does. One file per context, named by the context's absolute
// path, written atomically and sealed with a checksum: a corrupt or foreign
// file is ignored, never trusted.
type statCache struct {
	file    string // "" when disabled
	root    string
	written int64    // the cache file's mtime: entries no older than it are racy
	entries []cached // in walk order, so the walk's entries merge with them
	hits    atomic.Int64
}

type cached struct {
	path   string // points into the cache file's bytes
	st     stat
	digest [32]byte
}

func openCache(dir, root string, warn func(string)) *statCache {
	c := &statCache{root: root}
	if dir == "off" {
		return c
	}
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return c
		}
		dir = filepath.Join(base, "lambdacontainer", "stat")
	}
	key := blake3.Sum256([]byte(root))
	c.file = filepath.Join(dir, hex.EncodeToString(key[:16]))
	info, err := os.Stat(c.file)
	if err != nil {
		return c
	}
	data, err := os.ReadFile(c.file)
	if err == nil {
		c.entries, err = decodeCache(data, root)
	}
	if err != nil {
		warn(fmt.Sprintf("ignoring the stat cache %s: %v; every file will be read", c.file, err))
		c.entries = nil
		return c
	}
	c.written = info.ModTime().UnixNano()
	return c
}

// lookup returns the cached digest at index i (entry.cached) when the file's
// stat is unchanged and older than the cache file: a file changed in the
// same clock tick as the cache was written could otherwise hide its change.
func (c *statCache) lookup(i int32, st stat) ([32]byte, bool) {
	if i < 0 {
		return [32]byte{}, false
	}
	e := &c.entries[i]
	if e.st != st || st.mtime >= c.written {
		return [32]byte{}, false
	}
	c.hits.Add(1)
	return e.digest, true
}

// stale reports whether the cache holds anything other than the files just looked up.
func (c *statCache) stale() bool { return c.file != "" && c.hits.Load() != int64(len(c.entries)) }

// save writes the digests of entries, atomically. Failing to is only a warning.
func (c *statCache) save(entries entryList, warn func(string)) {
	if c.file == "" {
		return
	}
	n, size := 0, len(cacheMagic)+len(c.root)+2*binary.MaxVarintLen64+32 // and the checksum
	for _, e := range entries.all() {
		if e.kind == File || e.kind == Executable {
			n++
			size += len(e.path) + 5*binary.MaxVarintLen64 + len(e.digest)
		}
	}
	buf := append(make([]byte, 0, size), cacheMagic...)
	buf = appendString(buf, c.root)
	buf = binary.AppendUvarint(buf, uint64(n))
	for _, e := range entries.all() {
		if e.kind != File && e.kind != Executable {
			continue
		}
		buf = appendString(buf, e.path)
		buf = binary.AppendVarint(buf, e.st.size)
		buf = binary.AppendVarint(buf, e.st.mtime)
		buf = binary.AppendUvarint(buf, e.st.ino)
		buf = binary.AppendUvarint(buf, uint64(e.st.mode))
		buf = append(buf, e.digest[:]...)
	}
	sum := blake3.Sum256(buf)
	buf = append(buf, sum[:]...)
	if err := writeAtomic(c.file, buf); err != nil {
		warn(fmt.Sprintf("could not write the stat cache: %v", err))
	}
}

func writeAtomic(file string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), file)
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

var errCorrupt = errors.New("corrupt")

func decodeCache(data []byte, root string) ([]cached, error) {
	if len(data) < len(cacheMagic)+32 || string(data[:len(cacheMagic)]) != cacheMagic {
		return nil, errors.New("not a stat cache file")
	}
	body, sum := data[:len(data)-32], data[len(data)-32:]
	if want := blake3.Sum256(body); !bytes.Equal(want[:], sum) {
		return nil, errors.New("checksum mismatch")
	}
	r := reader{b: body[len(cacheMagic):]}
	if r.string() != root {
		return nil, errors.New("written for another context")
	}
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		return nil, errCorrupt
	}
	out := make([]cached, n)
	for i := range out {
		e := &out[i]
		e.path = r.view()
		e.st.size = r.varint()
		e.st.mtime = r.varint()
		e.st.ino = r.uvarint()
		e.st.mode = uint32(r.uvarint())
		copy(e.digest[:], r.bytes(32))
		if r.err != nil {
			return nil, r.err
		}
		if i > 0 && pathCompare(out[i-1].path, e.path) >= 0 {
			return nil, errors.New("entries out of order")
		}
	}
	return out, nil
}

// reader decodes the cache's varints and strings, remembering the first error.
type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) bytes(n int) []byte {
	if n < 0 || n > len(r.b) {
		r.fail()
		return make([]byte, max(n, 0))
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) string() string { return strings.Clone(r.view()) }

// view returns a string that shares the cache file's bytes, which stay
// unchanged for as long as the cache is open.
func (r *reader) view() string {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail()
		return ""
	}
	b := r.bytes(int(n))
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

func (r *reader) fail() {
	if r.err == nil {
		r.err = errCorrupt
	}
	r.b = nil
}
