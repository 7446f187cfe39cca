// Command baseimage packs the stand-in for AWS's Lambda Python base image,
// which cannot be pulled here: a debootstrapped Debian root file system
// (python3, python3-fastapi) plus this directory's entrypoint and runtime
// client, as a single-layer OCI image in an OCI layout. The tool bootstrap
// runs it; tests push the layout to localaws and build FROM it.
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
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

//go:embed files
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

func run(rootfs, out string) error {
	tmp, err := os.CreateTemp("", "baseimage-*.tar")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := writeLayer(tmp, rootfs); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	layer, err := tarball.LayerFromFile(tmp.Name())
	if err != nil {
		return err
	}
	img, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1), mutate.Addendum{Layer: layer, MediaType: types.OCILayer})
	if err != nil {
		return err
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.ConfigFile(img, &v1.ConfigFile{
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
	os.RemoveAll(out)
	p, err := layout.Write(out, empty.Index)
	if err != nil {
		return err
	}
	return p.AppendImage(img)
}

// writeLayer tars the root file system (devices and sockets left out: the
// runtime provides /dev) and then the runtime files over it.
func writeLayer(w io.Writer, rootfs string) error {
	tw := tar.NewWriter(w)
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
		rel, _ := filepath.Rel(rootfs, p)
		hdr.Name = filepath.ToSlash(rel)
		if info.IsDir() {
			hdr.Name += "/"
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
	for _, f := range []struct {
		name, src string
		mode      int64
	}{
		{"lambda-entrypoint.sh", "files/lambda-entrypoint.sh", 0o755},
		{"var/runtime/bootstrap.py", "files/bootstrap.py", 0o644},
	} {
		data, err := files.ReadFile(f.src)
		if err != nil {
			return err
		}
		if strings.Contains(f.name, "/") {
			tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: filepath.Dir(f.name) + "/", Mode: 0o755, ModTime: epoch})
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: f.mode, Size: int64(len(data)), ModTime: epoch}); err != nil {
			return err
		}
		if _, err := tw.Write(data); err != nil {
			return err
		}
	}
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "var/task/", Mode: 0o755, ModTime: epoch})
	return tw.Close()
}
