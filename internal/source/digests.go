package source

import (
	"container/heap"
	"encoding/hex"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/zeebo/blake3"
)

// ShortDigest is how many hex digits of a digest Files keeps per path.
const ShortDigest = 12

// Digests maps each sent path to a short digest of its kind and content:
// regular files and symlinks by path, empty directories as "dir/". When more
// than limit paths would be listed, it lists some directories instead
// ("dir/", the digest of everything below): bottom up, the fullest first,
// until the list fits. A big vendored or data tree then takes one line
// while the code beside it is still listed file by file, so that state
// stays small and a diff still points at what changed.
func (t *Tree) Digests(limit int) map[string]string {
	leaves := t.leaves()
	collapsed := collapse(leaves, limit)
	out := map[string]string{}
	hashers := map[string]*blake3.Hasher{}
	for _, e := range leaves {
		key := e.path
		if e.kind == Dir {
			key += "/"
		}
		for dir := parentDir(e.path); len(collapsed) > 0 && dir != ""; dir = parentDir(dir) { // the outermost collapsed directory
			if collapsed[dir] {
				key = dir + "/"
			}
		}
		if key == e.path || key == e.path+"/" {
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

// parentDir is the directory holding p ("" for the context's root).
func parentDir(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return ""
}

// collapse picks the directories to list as one entry each so that at most
// limit entries are listed (or as few as the top-level ones allow): it
// collapses directories whose subdirectories are all collapsed already,
// the one with the most entries first.
func collapse(leaves []entry, limit int) map[string]bool {
	collapsed := map[string]bool{}
	total := len(leaves)
	if total <= limit {
		return collapsed
	}
	type node struct {
		entries int // what it lists directly: leaves, and collapsed subdirectories as one each
		open    int // subdirectories not collapsed yet
	}
	dirs := map[string]*node{}
	var add func(dir string) *node
	add = func(dir string) *node {
		n := dirs[dir]
		if n == nil {
			n = &node{}
			dirs[dir] = n
			if dir != "" {
				add(parentDir(dir)).open++
			}
		}
		return n
	}
	for _, e := range leaves {
		add(parentDir(e.path)).entries++
	}
	ready := &dirHeap{}
	for dir, n := range dirs {
		if n.open == 0 && dir != "" {
			heap.Push(ready, dirEntries{dir, n.entries})
		}
	}
	for total > limit && ready.Len() > 0 {
		d := heap.Pop(ready).(dirEntries)
		collapsed[d.dir] = true
		total -= d.entries - 1
		parent := parentDir(d.dir)
		p := dirs[parent]
		p.entries++
		if p.open--; p.open == 0 && parent != "" {
			heap.Push(ready, dirEntries{parent, p.entries})
		}
	}
	return collapsed
}

// dirEntries is a directory ready to collapse and how many entries it lists.
type dirEntries struct {
	dir     string
	entries int
}

// dirHeap orders directories by entries, most first, then by path.
type dirHeap []dirEntries

func (h dirHeap) Len() int { return len(h) }
func (h dirHeap) Less(i, j int) bool {
	if h[i].entries != h[j].entries {
		return h[i].entries > h[j].entries
	}
	return h[i].dir < h[j].dir
}
func (h dirHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *dirHeap) Push(x any)   { *h = append(*h, x.(dirEntries)) }
func (h *dirHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// sends reports whether the context sends path.
func (t *Tree) sends(path string) bool {
	n := t.entries.len()
	i := sort.Search(n, func(i int) bool { return pathCompare(t.entries.at(i).path, path) >= 0 })
	return i < n && t.entries.at(i).path == path
}

// leaves are the entries a diff names: files, symlinks and empty directories.
func (t *Tree) leaves() []entry {
	var out []entry
	for i, e := range t.entries.all() {
		if e.kind == Dir && i+1 < t.entries.len() && strings.HasPrefix(t.entries.at(i+1).path, e.path+"/") {
			continue // not empty: its contents speak for it
		}
		out = append(out, *e)
	}
	return out
}

func leafDigest(e entry) [32]byte {
	return blake3.Sum256(append([]byte{byte(e.kind)}, e.digest[:]...))
}

func short(d [32]byte) string { return hex.EncodeToString(d[:])[:ShortDigest] }

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
	for _, e := range t.entries.all() {
		if e.kind != Dir {
			out = append(out, e.path)
		}
	}
	return out
}
