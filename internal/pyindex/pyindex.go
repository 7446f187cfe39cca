// Package pyindex knows Python's module namespace: the standard library of
// each Python version, and which distribution provides an import name.
package pyindex

import (
	"slices"
	"strings"
	"sync"
)

// DefaultVersion is the Python version assumed when none is known.
const DefaultVersion = "3.12"

// LambdaBaseProvides lists the distributions AWS's Lambda Python base images
// already contain: the AWS SDK for Python with its dependencies, which AWS
// documents as part of every Python runtime, and the runtime interface client
// that the images' entrypoint runs.
var LambdaBaseProvides = []string{"awslambdaric", "boto3", "botocore", "jmespath", "python-dateutil", "s3transfer", "six", "urllib3"}

var stdlibs = sync.OnceValue(func() map[string]map[string]bool {
	set := func(names string) map[string]bool {
		m := map[string]bool{}
		for _, n := range strings.Fields(names) {
			m[n] = true
		}
		return m
	}
	apply := func(base map[string]bool, add, remove string) map[string]bool {
		m := make(map[string]bool, len(base))
		for n := range base {
			m[n] = true
		}
		for _, n := range strings.Fields(add) {
			m[n] = true
		}
		for _, n := range strings.Fields(remove) {
			delete(m, n)
		}
		return m
	}
	out := map[string]map[string]bool{"3.11": set(stdlib311)}
	for _, v := range []string{"3.12", "3.13"} { // forwards from 3.11
		c := stdlibChanges[v]
		out[v] = apply(out[prevVersion(v)], c.added, c.removed)
	}
	for _, v := range []string{"3.11", "3.10", "3.9"} { // backwards: undo v's changes to get the one before
		c := stdlibChanges[v]
		out[prevVersion(v)] = apply(out[v], c.removed, c.added)
	}
	return out
})

func prevVersion(v string) string {
	return map[string]string{"3.9": "3.8", "3.10": "3.9", "3.11": "3.10", "3.12": "3.11", "3.13": "3.12"}[v]
}

// IsStdlib reports whether the top-level name of module (a dotted import name
// is cut at its first dot) belongs to the standard library of the Python
// version ("3.8" to "3.13"; any other version is taken as DefaultVersion).
func IsStdlib(module, version string) bool {
	top, _, _ := strings.Cut(module, ".")
	names, ok := stdlibs()[version]
	if !ok {
		names = stdlibs()[DefaultVersion]
	}
	return names[top]
}

// Versions lists the Python versions IsStdlib knows, oldest first.
func Versions() []string {
	return []string{"3.8", "3.9", "3.10", "3.11", "3.12", "3.13"}
}

// Normalize is PEP 503's normalisation of a distribution name: lower case,
// with each run of '-', '_' and '.' replaced by one '-'.
func Normalize(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	sep := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c == '-' || c == '_' || c == '.' {
			sep = true
			continue
		}
		if sep && b.Len() > 0 {
			b.WriteByte('-')
		}
		sep = false
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String()
}

type index struct {
	dist     map[string]string   // import name (dotted for namespace packages) -> distribution
	provides map[string][]string // normalised distribution -> import names
	requires map[string][]string // normalised distribution, or "dist[extra]" -> normalised requirements
}

var idx = sync.OnceValue(func() *index {
	x := &index{dist: map[string]string{}, provides: map[string][]string{}, requires: map[string][]string{}}
	add := func(mod, dist string) {
		if _, dup := x.dist[mod]; !dup {
			x.dist[mod] = dist
		}
		n := Normalize(dist)
		if !slices.Contains(x.provides[n], mod) {
			x.provides[n] = append(x.provides[n], mod)
		}
	}
	for _, line := range strings.Split(importNames, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) == 1 {
			add(f[0], f[0])
		} else {
			add(f[0], f[1])
		}
	}
	for _, line := range strings.Split(extraProvides, "\n") {
		if dist, mods, ok := strings.Cut(line, ":"); ok {
			for _, m := range strings.Fields(mods) {
				n := Normalize(strings.TrimSpace(dist))
				if !slices.Contains(x.provides[n], m) {
					x.provides[n] = append(x.provides[n], m)
				}
			}
		}
	}
	for _, line := range strings.Split(requirements, "\n") {
		if dist, reqs, ok := strings.Cut(line, ":"); ok {
			key := normalizeWithExtra(strings.TrimSpace(dist))
			for _, r := range strings.Fields(reqs) {
				x.requires[key] = append(x.requires[key], normalizeWithExtra(r))
			}
		}
	}
	for n, mods := range x.provides {
		slices.Sort(mods)
		x.provides[n] = mods
	}
	return x
})

// normalizeWithExtra normalises "Name[Extra]" to "name[extra]".
func normalizeWithExtra(s string) string {
	name, extra, ok := strings.Cut(s, "[")
	if !ok {
		return Normalize(s)
	}
	return Normalize(name) + "[" + Normalize(strings.TrimSuffix(extra, "]")) + "]"
}

// Distribution returns the distribution that provides an import name, as it
// is spelled on PyPI (`yaml` gives "PyYAML"). A dotted name is looked up by
// its longest known prefix, so `google.cloud.storage.blob` gives
// "google-cloud-storage"; a namespace root that several distributions share
// (`google`, `azure`) is not known. ok is false for an unknown module: callers
// then suggest the module name itself.
func Distribution(module string) (dist string, ok bool) {
	x := idx()
	for m := module; m != ""; {
		if d, ok := x.dist[m]; ok {
			return d, true
		}
		i := strings.LastIndexByte(m, '.')
		if i < 0 {
			break
		}
		m = m[:i]
	}
	return "", false
}

// Provides returns the import names a distribution provides, sorted; dotted
// names are portions of namespace packages (`protobuf` provides
// `google.protobuf`). It is nil for a distribution pyindex does not know.
func Provides(dist string) []string {
	return slices.Clone(idx().provides[Normalize(dist)])
}

// Requires returns the normalised names of the distributions that dist
// depends on when installed (without extras), as far as pyindex knows them.
// dist may carry an extra, "fastapi[standard]": the result then holds the
// distribution itself and what the extra adds. Callers follow the result
// transitively.
func Requires(dist string) []string {
	key := normalizeWithExtra(dist)
	reqs := slices.Clone(idx().requires[key])
	if name, _, ok := strings.Cut(key, "["); ok {
		reqs = append([]string{name}, reqs...)
	}
	return reqs
}
