// Command baseimage packs the stand-in for AWS's Lambda Python base image,
// which cannot be pulled here: a debootstrapped Debian root file system
// (python3, python3-pip, python3-fastapi, python3-yaml) plus this directory's
// entrypoint and runtime client, as a single-layer OCI image in an OCI
// layout. The tool bootstrap runs it; tests push the layout to localaws and
// build FROM it.
//
// As on AWS's image, `pip install -r requirements.txt -t ${LAMBDA_TASK_ROOT}`
// is how an app gets its dependencies, and only what it installs there is
// importable at run time. PyPI can't be reached either, so pip is set to
// install offline from /opt/wheelhouse: a wheel of each distribution Debian
// installed, and of the stand-in mangum in files/mangum.
//
//	go run ./localaws/baseimage --rootfs DIR --out LAYOUT
package main

import (
	"archive/tar"
	"embed"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

//go:embed all:files
var files embed.FS

// epoch stamps every file, so the same root file system packs the same digest.
var epoch = time.Unix(0, 0)

func main() {
	rootfs := flag.String("rootfs", "", "the debootstrapped root file system")
	out := flag.String("out", "", "the OCI layout to write")
	flag.Parse()
	if *rootfs == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "usage: baseimage --rootfs DIR --out LAYOUT")
		os.Exit(2)
	}
	if err := run(*rootfs, *out); err != nil {
		fmt.Fprintln(os.Stderr, "baseimage:", err)
		os.Exit(1)
	}
}

// pipConf points pip at the wheelhouse, for good: PyPI is out of reach.
const pipConf = `[global]
no-index = true
find-links = /opt/wheelhouse
disable-pip-version-check = true
`

// removed are the root file system's files the image leaves out: Debian's
// marker that makes pip refuse to install anything, even into a task root.
const removed = "usr/lib/python3*/EXTERNALLY-MANAGED"

// file is one file the image adds over the root file system.
type file struct {
	name string
	data []byte
	mode int64
}

func run(rootfs, out string) error {
	added, err := addedFiles(rootfs)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp("", "baseimage-*.tar")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := writeLayer(tmp, rootfs, added); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	layer, err := tarball.LayerFromFile(tmp.Name())
	if err != nil {
		return err
	}
	// The config first: mutate.ConfigFile replaces it whole, and Append then
	// records the layer's diff ID and history in it.
	img, err := mutate.ConfigFile(mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON), &v1.ConfigFile{
		Architecture: "amd64", OS: "linux", Created: v1.Time{Time: epoch},
		Config: v1.Config{
			Entrypoint: []string{"/lambda-entrypoint.sh"},
			WorkingDir: "/var/task",
			Env: []string{
				"PATH=/var/lang/bin:/usr/local/bin:/usr/bin:/bin:/opt/bin", "LANG=C.UTF-8", "TZ=:/etc/localtime",
				"LAMBDA_TASK_ROOT=/var/task", "LAMBDA_RUNTIME_DIR=/var/runtime",
			},
		},
		RootFS: v1.RootFS{Type: "layers"},
	})
	if err != nil {
		return err
	}
	img, err = mutate.Append(img, mutate.Addendum{Layer: layer, MediaType: types.OCILayer,
		History: v1.History{Created: v1.Time{Time: epoch}, CreatedBy: "lambdacontainer baseimage: debootstrap bookworm + runtime client + wheelhouse"}})
	if err != nil {
		return err
	}
	os.RemoveAll(out)
	p, err := layout.Write(out, empty.Index)
	if err != nil {
		return err
	}
	return p.AppendImage(img)
}

// addedFiles are the entrypoint, the runtime client, pip's configuration
// and the wheelhouse.
func addedFiles(rootfs string) ([]file, error) {
	var added []file
	for _, f := range []struct {
		name, src string
		mode      int64
	}{
		{"lambda-entrypoint.sh", "files/lambda-entrypoint.sh", 0o755},
		{"var/runtime/bootstrap.py", "files/bootstrap.py", 0o644},
	} {
		data, err := files.ReadFile(f.src)
		if err != nil {
			return nil, err
		}
		added = append(added, file{f.name, data, f.mode})
	}
	added = append(added, file{"etc/pip.conf", []byte(pipConf), 0o644})
	wheels, err := wheelhouse(rootfs)
	if err != nil {
		return nil, err
	}
	for _, name := range slices.Sorted(maps.Keys(wheels)) {
		added = append(added, file{"opt/wheelhouse/" + name, wheels[name], 0o644})
	}
	return added, nil
}

// writeLayer tars the root file system (devices and sockets left out: the
// runtime provides /dev; and the removed files) and then the added files
// over it, with an empty task root.
func writeLayer(w io.Writer, rootfs string, added []file) error {
	tw := tar.NewWriter(w)
	replaced := map[string]bool{}
	for _, f := range added {
		replaced[f.name] = true
	}
	dirs := map[string]bool{".": true}
	var paths []string
	err := filepath.WalkDir(rootfs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != rootfs {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(paths)
	for _, p := range paths {
		rel, _ := filepath.Rel(rootfs, p)
		rel = filepath.ToSlash(rel)
		if gone, _ := path.Match(removed, rel); gone || replaced[rel] {
			continue
		}
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		mode := info.Mode()
		if mode&(fs.ModeDevice|fs.ModeCharDevice|fs.ModeSocket|fs.ModeNamedPipe) != 0 {
			continue
		}
		link := ""
		if mode&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		hdr.Name = rel
		if info.IsDir() {
			hdr.Name += "/"
			dirs[rel] = true
		}
		hdr.ModTime, hdr.AccessTime, hdr.ChangeTime = epoch, time.Time{}, time.Time{}
		hdr.Uname, hdr.Gname = "", ""
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if mode.IsRegular() {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			_, err = io.Copy(tw, f)
			f.Close()
			if err != nil {
				return err
			}
		}
	}
	// mkdir writes the directories leading to name that the tar lacks so far.
	var mkdir func(name string) error
	mkdir = func(name string) error {
		if dirs[name] {
			return nil
		}
		if err := mkdir(path.Dir(name)); err != nil {
			return err
		}
		dirs[name] = true
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: 0o755, ModTime: epoch})
	}
	for _, f := range added {
		if err := mkdir(path.Dir(f.name)); err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: epoch}); err != nil {
			return err
		}
		if _, err := tw.Write(f.data); err != nil {
			return err
		}
	}
	if err := mkdir("var/task"); err != nil {
		return err
	}
	return tw.Close()
}
