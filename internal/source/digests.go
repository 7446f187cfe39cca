package source

import (
	"encoding/hex"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/zeebo/blake3"
)

// ShortDigest is how many hex digits of a digest Files keeps per path.
const ShortDigest = 12

// Digests maps each sent path to a short digest of its kind and content:
// regular files and symlinks by path, empty directories as "dir/". When more
// than limit paths would be listed, it lists directories instead ("dir/",
// the digest of everything below), at the deepest level that fits, so that
// state stays small while a diff still points at what changed.
func (t *Tree) Digests(limit int) map[string]string {
	leaves := t.leaves()
	depth := -1 // per path
	if len(leaves) > limit {
		depth = 1 // top-level directories, even when there are too many of those
		for d := 2; d <= maxDepth(leaves) && groupCount(leaves, d) <= limit; d++ {
			depth = d
		}
	}
	out := map[string]string{}
	hashers := map[string]*blake3.Hasher{}
	for _, e := range leaves {
		key := groupKey(e.path, e.kind, depth)
		if key == e.path || (e.kind == Dir && key == e.path+"/") {
			out[key] = short(leafDigest(e))
			continue
		}
		h := hashers[key]
		if h == nil {
			h = blake3.New()
			hashers[key] = h
		}
		d := leafDigest(e)
		h.Write([]byte(e.path[len(key):]))
		h.Write([]byte{0})
		h.Write(d[:])
	}
	for key, h := range hashers {
		var d [32]byte
		copy(d[:], h.Sum(nil))
		out[key] = short(d)
	}
	if t.Dockerfile != "" && !t.sends(t.Dockerfile) { // ignored, yet hashed: a change to it is named too
		out[t.Dockerfile] = short(leafDigest(entry{path: t.Dockerfile, kind: File, digest: t.dockerfile}))
	}
	return out
}

// sends reports whether the context sends path.
func (t *Tree) sends(path string) bool {
	_, found := slices.BinarySearchFunc(t.entries, path, func(e entry, p string) int { return pathCompare(e.path, p) })
	return found
}

// leaves are the entries a diff names: files, symlinks and empty directories.
func (t *Tree) leaves() []entry {
	var out []entry
	for i, e := range t.entries {
		if e.kind == Dir && i+1 < len(t.entries) && strings.HasPrefix(t.entries[i+1].path, e.path+"/") {
			continue // not empty: its contents speak for it
		}
		out = append(out, e)
	}
	return out
}

func leafDigest(e entry) [32]byte {
	return blake3.Sum256(append([]byte{byte(e.kind)}, e.digest[:]...))
}

func short(d [32]byte) string { return hex.EncodeToString(d[:])[:ShortDigest] }

// groupKey is the directory holding p, cut to depth components ("a/b/"),
// or p itself (an empty directory as "p/") when p lies shallower than that.
// A negative depth lists every path.
func groupKey(p string, kind Kind, depth int) string {
	dirs := strings.Split(p, "/")
	if kind != Dir {
		dirs = dirs[:len(dirs)-1]
	}
	if depth >= 0 && len(dirs) >= depth {
		return strings.Join(dirs[:depth], "/") + "/"
	}
	if kind == Dir {
		return p + "/"
	}
	return p
}

func groupCount(leaves []entry, depth int) int {
	keys := map[string]bool{}
	for _, e := range leaves {
		keys[groupKey(e.path, e.kind, depth)] = true
	}
	return len(keys)
}

func maxDepth(leaves []entry) int {
	m := 0
	for _, e := range leaves {
		m = max(m, strings.Count(e.path, "/"))
	}
	return m
}

// Change lists what differs between two Digests maps, each sorted.
type Change struct {
	Added, Removed, Modified []string
}

// Diff compares the Digests of an old and a new tree.
func Diff(old, new map[string]string) Change {
	var c Change
	for _, k := range slices.Sorted(maps.Keys(new)) {
		if o, ok := old[k]; !ok {
			c.Added = append(c.Added, k)
		} else if o != new[k] {
			c.Modified = append(c.Modified, k)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(old)) {
		if _, ok := new[k]; !ok {
			c.Removed = append(c.Removed, k)
		}
	}
	return c
}

// Empty reports whether nothing changed.
func (c Change) Empty() bool { return len(c.Added)+len(c.Removed)+len(c.Modified) == 0 }

// Summary names up to limit changed paths on one line, e.g.
// "3 changed: ~app/main.py +app/new.py -old.py".
func (c Change) Summary(limit int) string {
	var parts []string
	for _, l := range []struct {
		sign  string
		paths []string
	}{{"~", c.Modified}, {"+", c.Added}, {"-", c.Removed}} {
		for _, p := range l.paths {
			parts = append(parts, l.sign+p)
		}
	}
	n := len(parts)
	if n > limit {
		parts = append(parts[:limit], "...")
	}
	return strings.Join(append([]string{strconv.Itoa(n) + " changed:"}, parts...), " ")
}

// Paths lists the regular files and symlinks BuildKit would send, in walk
// order (depth first, names sorted), slash-separated and relative to the context.
func (t *Tree) Paths() []string {
	var out []string
	for i := range t.entries {
		if e := &t.entries[i]; e.kind != Dir {
			out = append(out, e.path)
		}
	}
	return out
}
