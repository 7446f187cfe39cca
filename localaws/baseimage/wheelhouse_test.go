package main

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// fakeRoot writes a root file system with a dist-packages and a dpkg database.
func fakeRoot(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if target, ok := strings.CutPrefix(content, "symlink:"); ok {
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
		} else if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// unzip reads a wheel and checks its RECORD against every entry: each
// listed once, with its sha256 and size, and RECORD itself unhashed.
func unzip(t *testing.T, name string, data []byte) map[string]string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	entries := map[string]string{}
	for _, f := range zr.File {
		r, _ := f.Open()
		b, _ := io.ReadAll(r)
		entries[f.Name] = string(b)
	}
	info := strings.TrimSuffix(name, "-py3-none-any.whl") + ".dist-info/"
	rows, err := csv.NewReader(strings.NewReader(entries[info+"RECORD"])).ReadAll()
	if err != nil || len(rows) != len(entries) {
		t.Fatalf("%s: RECORD lists %d of %d entries (%v):\n%s", name, len(rows), len(entries), err, entries[info+"RECORD"])
	}
	for _, row := range rows {
		content, ok := entries[row[0]]
		if row[0] == info+"RECORD" {
			if row[1] != "" || row[2] != "" {
				t.Errorf("%s: RECORD hashes itself: %v", name, row)
			}
			continue
		}
		sum := sha256.Sum256([]byte(content))
		if !ok || row[1] != "sha256="+base64.RawURLEncoding.EncodeToString(sum[:]) || row[2] != strconv.Itoa(len(content)) {
			t.Errorf("%s: RECORD row %v does not match the entry", name, row)
		}
	}
	return entries
}

func TestWheelhouseFromDebianMetadata(t *testing.T) {
	site := sitePackages + "/"
	root := fakeRoot(t, map[string]string{
		// A wheel-style install with an upstream bound Debian's versions break.
		site + "Web.Kit-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: Web.Kit\nVersion: 1.0\nSummary: a kit\n" +
			"Requires-Dist: async-lib<0.1,>=0.0.1\nRequires-Dist: fast_json[speed]; python_version < '3.8'\nRequires-Dist: docs-tool; extra == 'doc'\n\nLong description.\nRequires-Dist: not-a-header\n",
		site + "Web.Kit-1.0.dist-info/RECORD":                "Web.Kit-1.0.dist-info/METADATA,,\nwebkit/__init__.py,sha256=x,3\nwebkit/__pycache__/__init__.cpython-311.pyc,,\n../../../bin/webkit,,\n",
		site + "Web.Kit-1.0.dist-info/entry_points.txt":      "[console_scripts]\nwebkit = webkit:main\n",
		site + "webkit/__init__.py":                          "x=1",
		site + "webkit/__pycache__/__init__.cpython-311.pyc": "bytecode",
		// An egg-info install whose requires.txt lost a dependency its Debian package keeps.
		site + "async_lib-2.0.egg-info/PKG-INFO":           "Metadata-Version: 2.1\nName: async-lib\nVersion: 2.0\n",
		site + "async_lib-2.0.egg-info/requires.txt":       "sniff\n\n[trio]\ntrio\n",
		site + "async_lib-2.0.egg-info/top_level.txt":      "async_lib\n_speedups\n",
		site + "async_lib/__init__.py":                     "import sniff, idna",
		site + "async_lib/data.txt":                        "symlink:/usr/share/async-lib/data.txt",
		"usr/share/async-lib/data.txt":                     "from the root file system",
		site + "_speedups.cpython-311-x86_64-linux-gnu.so": "ELF",
		site + "sniff-1.0.egg-info/PKG-INFO":               "Name: sniff\nVersion: 1.0\n",
		site + "sniff-1.0.egg-info/top_level.txt":          "sniff\n",
		site + "sniff.py":                                  "",
		site + "idna-3.3.egg-info/PKG-INFO":                "Name: idna\nVersion: 3.3\n",
		site + "idna-3.3.egg-info/top_level.txt":           "idna\n",
		site + "idna/__init__.py":                          "",
		site + "pip-23.0.1.dist-info/METADATA":             "Name: pip\nVersion: 23.0.1\n",
		site + "pip-23.0.1.dist-info/RECORD":               "pip/__init__.py,,\n",
		site + "pip/__init__.py":                           "",
		"var/lib/dpkg/info/python3-async-lib.list":         "/usr/lib/python3/dist-packages/async_lib-2.0.egg-info\n/usr/lib/python3/dist-packages/async_lib\n",
		"var/lib/dpkg/info/python3-idna.list":              "/usr/lib/python3/dist-packages/idna-3.3.egg-info\n",
		"var/lib/dpkg/info/python3-sniff:amd64.list":       "/usr/lib/python3/dist-packages/sniff-1.0.egg-info\n",
		"var/lib/dpkg/status": "Package: python3-async-lib\nStatus: install ok installed\nDepends: python3-idna (>= 2.8), python3-sniff:any, python3-typing-extensions | python3 (>> 3.8), python3:any\n\n" +
			"Package: python3-idna\nDepends: python3:any\n",
	})
	wheels, err := wheelhouse(root)
	if err != nil {
		t.Fatal(err)
	}
	names := slices.Sorted(maps.Keys(wheels))
	want := []string{"async_lib-2.0-py3-none-any.whl", "idna-3.3-py3-none-any.whl", "mangum-" + mangumVersion + "-py3-none-any.whl",
		"sniff-1.0-py3-none-any.whl", "web_kit-1.0-py3-none-any.whl"}
	if !slices.Equal(names, want) {
		t.Fatalf("wheels %v, want %v (pip skipped)", names, want)
	}
	for name, data := range wheels {
		unzip(t, name, data)
	}

	kit := unzip(t, "web_kit-1.0-py3-none-any.whl", wheels["web_kit-1.0-py3-none-any.whl"])
	if got := kit["web_kit-1.0.dist-info/METADATA"]; got != "Metadata-Version: 2.1\nName: Web.Kit\nVersion: 1.0\nSummary: a kit\n"+
		"Requires-Dist: async-lib\nRequires-Dist: fast_json; python_version < '3.8'\n" {
		t.Errorf("Web.Kit's METADATA:\n%s", got)
	}
	if kit["webkit/__init__.py"] != "x=1" || kit["web_kit-1.0.dist-info/entry_points.txt"] == "" || len(kit) != 5 {
		t.Errorf("Web.Kit's wheel holds %v: want the package, entry points, METADATA, WHEEL, RECORD", slices.Sorted(maps.Keys(kit)))
	}
	if wheel := kit["web_kit-1.0.dist-info/WHEEL"]; !strings.Contains(wheel, "Root-Is-Purelib: true\n") || !strings.Contains(wheel, "Tag: py3-none-any\n") {
		t.Errorf("WHEEL:\n%s", wheel)
	}

	lib := unzip(t, "async_lib-2.0-py3-none-any.whl", wheels["async_lib-2.0-py3-none-any.whl"])
	if got := lib["async_lib-2.0.dist-info/METADATA"]; !strings.HasSuffix(got, "Requires-Dist: sniff\nRequires-Dist: idna\n") {
		t.Errorf("async-lib must require requires.txt's sniff and Debian's idna, once each:\n%s", got)
	}
	if lib["async_lib/data.txt"] != "from the root file system" || lib["_speedups.cpython-311-x86_64-linux-gnu.so"] != "ELF" ||
		lib["async_lib-2.0.dist-info/top_level.txt"] == "" {
		t.Errorf("async-lib's wheel holds %v", slices.Sorted(maps.Keys(lib)))
	}

	m := unzip(t, "mangum-"+mangumVersion+"-py3-none-any.whl", wheels["mangum-"+mangumVersion+"-py3-none-any.whl"])
	if m["mangum/__init__.py"] == "" || !strings.Contains(m["mangum-"+mangumVersion+".dist-info/METADATA"], "Summary: lambdacontainer's stand-in for mangum") {
		t.Errorf("mangum's wheel holds %v", slices.Sorted(maps.Keys(m)))
	}

	os.RemoveAll(filepath.Join(root, site, "idna-3.3.egg-info"))
	if _, err := wheelhouse(root); err == nil || !strings.Contains(err.Error(), "async-lib requires idna, which is not in the wheelhouse") {
		t.Errorf("a requirement the wheelhouse can't meet: %v", err)
	}
}
