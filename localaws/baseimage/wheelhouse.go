package main

import (
	"archive/zip"
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// sitePackages is where Debian installs Python distributions.
const sitePackages = "usr/lib/python3/dist-packages"

// skipped are the distributions left out of the wheelhouse: pip's own
// tooling (with pkg_resources, _distutils_hack and its .pth), which an app
// does not import and which, installed into a task root, would only shadow
// the image's pip.
var skipped = map[string]bool{"pip": true, "setuptools": true, "wheel": true}

// mangumVersion is the version the stand-in adapter in files/mangum claims:
// the mangum release whose API it follows.
const mangumVersion = "0.17.0"

// dist is one Python distribution to pack as a wheel.
type dist struct {
	name, version, summary string
	requires               []string          // Requires-Dist values
	files                  map[string][]byte // path in the wheel -> content
	meta                   map[string][]byte // further .dist-info files: entry_points.txt, top_level.txt
}

// wheelhouse turns every distribution installed in the root file system,
// and the stand-in mangum, into wheels, keyed by file name.
func wheelhouse(rootfs string) (map[string][]byte, error) {
	dists, err := installed(rootfs)
	if err != nil {
		return nil, err
	}
	m, err := mangum()
	if err != nil {
		return nil, err
	}
	dists = append(dists, m)
	if err := resolvable(dists); err != nil {
		return nil, err
	}
	wheels := map[string][]byte{}
	for _, d := range dists {
		name, data, err := d.wheel()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d.name, err)
		}
		wheels[name] = data
	}
	return wheels, nil
}

// installed reads the distributions in the root file system's dist-packages
// from their .dist-info or .egg-info metadata.
func installed(rootfs string) ([]dist, error) {
	site := filepath.Join(rootfs, sitePackages)
	entries, err := os.ReadDir(site)
	if err != nil {
		return nil, err
	}
	debian, err := debianDepends(rootfs)
	if err != nil {
		return nil, err
	}
	var dists []dist
	for _, e := range entries {
		var d dist
		switch filepath.Ext(e.Name()) {
		case ".dist-info":
			d, err = distInfo(rootfs, e.Name())
		case ".egg-info":
			d, err = eggInfo(rootfs, e.Name(), debian[e.Name()])
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name(), err)
		}
		if !skipped[canonical(d.name)] {
			dists = append(dists, d)
		}
	}
	return dists, nil
}

// distInfo reads a wheel-style installation: METADATA, and RECORD for its files.
func distInfo(rootfs, dir string) (dist, error) {
	site := filepath.Join(rootfs, sitePackages)
	meta, err := os.ReadFile(filepath.Join(site, dir, "METADATA"))
	if err != nil {
		return dist{}, err
	}
	d := fromHeaders(meta)
	for _, r := range headers(meta)["Requires-Dist"] {
		if req, ok := requirement(r); ok {
			d.requires = append(d.requires, req)
		}
	}
	d.meta = carried(site, dir)
	record, err := os.Open(filepath.Join(site, dir, "RECORD"))
	if os.IsNotExist(err) {
		return d, d.addTopLevel(rootfs, site, dir)
	} else if err != nil {
		return dist{}, err
	}
	defer record.Close()
	rows, err := csv.NewReader(record).ReadAll()
	if err != nil {
		return dist{}, fmt.Errorf("RECORD: %w", err)
	}
	for _, row := range rows {
		p := row[0]
		// Files outside dist-packages (scripts in /usr/bin), the old
		// metadata and byte code stay behind.
		if p == "" || path.IsAbs(p) || strings.HasPrefix(path.Clean(p), "../") || strings.HasPrefix(p, dir+"/") ||
			strings.Contains(p, "__pycache__/") || strings.HasSuffix(p, ".pyc") {
			continue
		}
		if err := d.add(rootfs, site, p); err != nil {
			return dist{}, err
		}
	}
	return d, nil
}

// eggInfo reads a setuptools-style installation: PKG-INFO, requires.txt (its
// unconditional part; the sections are for extras and old Pythons) and
// top_level.txt for its files. Debian's builds often leave requires.txt
// short (anyio's lacks idna and sniffio, pydantic's typing_extensions), so
// the distributions its Debian package depends on count as required too.
func eggInfo(rootfs, dir string, debian []string) (dist, error) {
	site := filepath.Join(rootfs, sitePackages)
	pkgInfo := filepath.Join(site, dir)
	if info, err := os.Stat(pkgInfo); err == nil && info.IsDir() {
		pkgInfo = filepath.Join(pkgInfo, "PKG-INFO")
	}
	meta, err := os.ReadFile(pkgInfo)
	if err != nil {
		return dist{}, err
	}
	d := fromHeaders(meta)
	requires, _ := os.ReadFile(filepath.Join(site, dir, "requires.txt"))
	for _, line := range strings.Split(string(requires), "\n") {
		if strings.HasPrefix(line, "[") {
			break
		}
		if req, ok := requirement(line); ok {
			d.requires = append(d.requires, req)
		}
	}
	d.requires = append(d.requires, debian...)
	d.meta = carried(site, dir)
	return d, d.addTopLevel(rootfs, site, dir)
}

// fromHeaders starts a dist from the name, version and summary in METADATA or PKG-INFO.
func fromHeaders(meta []byte) dist {
	h := headers(meta)
	first := func(k string) string {
		if v := h[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	return dist{name: first("Name"), version: first("Version"), summary: first("Summary"), files: map[string][]byte{}}
}

// headers parses the email-style header block of METADATA or PKG-INFO.
func headers(meta []byte) map[string][]string {
	h := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(meta))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			break
		}
		if k, v, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(line, " ") && !strings.HasPrefix(line, "\t") {
			h[k] = append(h[k], strings.TrimSpace(v))
		}
	}
	return h
}

// carried reads the metadata files a wheel keeps besides those it is rebuilt with.
func carried(site, dir string) map[string][]byte {
	meta := map[string][]byte{}
	for _, name := range []string{"entry_points.txt", "top_level.txt"} {
		if data, err := os.ReadFile(filepath.Join(site, dir, name)); err == nil {
			meta[name] = data
		}
	}
	return meta
}

var (
	requirementName = regexp.MustCompile(`^\s*([A-Za-z0-9][A-Za-z0-9._-]*)`)
	extraMarker     = regexp.MustCompile(`\bextra\s*==`)
)

// requirement turns a requirement into one the wheelhouse can meet. The
// name and any environment marker stay; the version bounds go, since Debian
// ships one version of each distribution, chosen to work together, and its
// choices at times leave upstream's bounds (fastapi 0.92.0 asks for
// starlette<0.26, Debian ships starlette 0.26.1). Extras go too, and
// requirements only for an extra are dropped: the wheels provide no extras.
func requirement(line string) (string, bool) {
	spec, marker, _ := strings.Cut(line, ";")
	marker = strings.TrimSpace(marker)
	m := requirementName.FindStringSubmatch(spec)
	if m == nil || extraMarker.MatchString(marker) {
		return "", false
	}
	if marker != "" {
		return m[1] + "; " + marker, true
	}
	return m[1], true
}

// addTopLevel adds the files of the distribution's top-level packages and
// modules, named in top_level.txt: name/, name.py and name's extension modules.
func (d *dist) addTopLevel(rootfs, site, dir string) error {
	top, err := os.ReadFile(filepath.Join(site, dir, "top_level.txt"))
	if err != nil {
		return fmt.Errorf("no RECORD and no top_level.txt: %w", err)
	}
	for _, name := range strings.Fields(string(top)) {
		err := filepath.WalkDir(filepath.Join(site, name), func(p string, e fs.DirEntry, err error) error {
			switch {
			case err != nil:
				return err
			case e.IsDir() && e.Name() == "__pycache__":
				return filepath.SkipDir
			case e.IsDir() || strings.HasSuffix(p, ".pyc"):
				return nil
			}
			rel, _ := filepath.Rel(site, p)
			return d.add(rootfs, site, filepath.ToSlash(rel))
		})
		if err != nil && !os.IsNotExist(err) {
			return err
		}
		modules, _ := filepath.Glob(filepath.Join(site, name+".*.so"))
		for _, m := range append(modules, filepath.Join(site, name+".py"), filepath.Join(site, name+".so")) {
			if _, err := os.Lstat(m); err == nil {
				if err := d.add(rootfs, site, filepath.Base(m)); err != nil {
					return err
				}
			}
		}
	}
	if len(d.files) == 0 {
		return fmt.Errorf("top_level.txt names no files")
	}
	return nil
}

// add reads one file of the distribution, by its path in dist-packages.
func (d *dist) add(rootfs, site, rel string) error {
	data, err := readInRoot(rootfs, filepath.Join(site, filepath.FromSlash(rel)))
	if err != nil {
		return err
	}
	d.files[rel] = data
	return nil
}

// readInRoot reads a file of the root file system, following symbolic links
// (Debian links some package data elsewhere) inside it rather than on this machine.
func readInRoot(rootfs, p string) ([]byte, error) {
	for range 16 {
		info, err := os.Lstat(p)
		if err != nil {
			return nil, err
		}
		if info.Mode()&fs.ModeSymlink == 0 {
			return os.ReadFile(p)
		}
		target, err := os.Readlink(p)
		if err != nil {
			return nil, err
		}
		if filepath.IsAbs(target) {
			p = filepath.Join(rootfs, target)
		} else {
			p = filepath.Join(filepath.Dir(p), target)
		}
	}
	return nil, fmt.Errorf("%s: too many symbolic links", p)
}

// debianDepends maps the metadata directory of each distribution in
// dist-packages to the distributions its Debian package depends on. A
// dependency with alternatives ("python3-typing-extensions | python3 (>>
// 3.8)") is one a newer Python makes unnecessary, and is left out.
func debianDepends(rootfs string) (map[string][]string, error) {
	dpkg := filepath.Join(rootfs, "var/lib/dpkg")
	lists, err := filepath.Glob(filepath.Join(dpkg, "info", "*.list"))
	if err != nil {
		return nil, err
	}
	owner := map[string]string{}   // metadata directory -> package
	dists := map[string][]string{} // package -> the distributions it installs
	for _, list := range lists {
		pkg, _, _ := strings.Cut(strings.TrimSuffix(filepath.Base(list), ".list"), ":")
		data, err := os.ReadFile(list)
		if err != nil {
			return nil, err
		}
		for _, line := range strings.Split(string(data), "\n") {
			if path.Dir(line) == "/"+sitePackages && (strings.HasSuffix(line, ".dist-info") || strings.HasSuffix(line, ".egg-info")) {
				owner[path.Base(line)] = pkg
				name, _, _ := strings.Cut(path.Base(line), "-")
				dists[pkg] = append(dists[pkg], name)
			}
		}
	}
	status, err := os.ReadFile(filepath.Join(dpkg, "status"))
	if err != nil {
		return nil, err
	}
	depends := map[string][]string{} // package -> the distributions it depends on
	for _, para := range strings.Split(string(status), "\n\n") {
		h := headers([]byte(para))
		if len(h["Package"]) == 0 || len(h["Depends"]) == 0 {
			continue
		}
		for _, dep := range strings.Split(h["Depends"][0], ",") {
			fields := strings.Fields(dep)
			if len(fields) == 0 || strings.Contains(dep, "|") {
				continue
			}
			name, _, _ := strings.Cut(fields[0], ":")
			depends[h["Package"][0]] = append(depends[h["Package"][0]], dists[name]...)
		}
	}
	out := map[string][]string{}
	for dir, pkg := range owner {
		out[dir] = depends[pkg]
	}
	return out, nil
}

// mangum is the stand-in ASGI adapter of files/mangum (mangum itself is not
// packaged by Debian).
func mangum() (dist, error) {
	d := dist{name: "mangum", version: mangumVersion, files: map[string][]byte{},
		summary: "lambdacontainer's stand-in for mangum: a small ASGI adapter for AWS Lambda, in the local Python base image"}
	err := fs.WalkDir(files, "files/mangum", func(p string, e fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case e.IsDir() && e.Name() == "__pycache__":
			return fs.SkipDir
		case e.IsDir():
			return nil
		}
		data, err := files.ReadFile(p)
		d.files[strings.TrimPrefix(p, "files/")] = data
		return err
	})
	return d, err
}

// resolvable checks that pip can meet every unconditional requirement from
// the wheelhouse alone.
func resolvable(dists []dist) error {
	have := map[string]bool{}
	for _, d := range dists {
		have[canonical(d.name)] = true
	}
	for _, d := range dists {
		for _, r := range d.requires {
			if !strings.Contains(r, ";") && !have[canonical(r)] {
				return fmt.Errorf("%s requires %s, which is not in the wheelhouse (add its Debian package to the bootstrap's debootstrap)", d.name, r)
			}
		}
	}
	return nil
}

var separators = regexp.MustCompile(`[-_.]+`)

// canonical is a distribution name as pip compares it (PEP 503), with "_" for "-".
func canonical(name string) string {
	return separators.ReplaceAllString(strings.ToLower(name), "_")
}

// zipTime stamps every wheel entry (zip can't go before 1980), so the same
// files make the same wheel.
var zipTime = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// wheel packs the distribution as {name}-{version}-py3-none-any.whl, with a
// .dist-info holding METADATA, WHEEL and a RECORD of every file's hash and size.
func (d dist) wheel() (string, []byte, error) {
	base := canonical(d.name) + "-" + strings.ReplaceAll(d.version, "-", "_")
	info := base + ".dist-info/"
	files := maps.Clone(d.files)
	for name, data := range d.meta {
		files[info+name] = data
	}
	files[info+"METADATA"] = d.metadata()
	files[info+"WHEEL"] = []byte("Wheel-Version: 1.0\nGenerator: lambdacontainer baseimage\nRoot-Is-Purelib: true\nTag: py3-none-any\n")

	var buf, record bytes.Buffer
	zw, rw := zip.NewWriter(&buf), csv.NewWriter(&record)
	add := func(name string, data []byte) error {
		h := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: zipTime}
		h.SetMode(0o644)
		w, err := zw.CreateHeader(h)
		if err == nil {
			_, err = w.Write(data)
		}
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if err := add(name, files[name]); err != nil {
			return "", nil, err
		}
		sum := sha256.Sum256(files[name])
		rw.Write([]string{name, "sha256=" + base64.RawURLEncoding.EncodeToString(sum[:]), strconv.Itoa(len(files[name]))})
	}
	rw.Write([]string{info + "RECORD", "", ""})
	rw.Flush()
	if err := add(info+"RECORD", record.Bytes()); err != nil {
		return "", nil, err
	}
	if err := zw.Close(); err != nil {
		return "", nil, err
	}
	return base + "-py3-none-any.whl", buf.Bytes(), nil
}

// metadata is the wheel's METADATA: name, version, summary and requirements,
// each requirement once.
func (d dist) metadata() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "Metadata-Version: 2.1\nName: %s\nVersion: %s\n", d.name, d.version)
	if d.summary != "" {
		fmt.Fprintf(&b, "Summary: %s\n", d.summary)
	}
	seen := map[string]bool{canonical(d.name): true}
	for _, r := range d.requires {
		if key := canonical(r); !seen[key] {
			seen[key] = true
			fmt.Fprintf(&b, "Requires-Dist: %s\n", r)
		}
	}
	return []byte(b.String())
}
