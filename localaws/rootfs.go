package localaws

import (
	"archive/tar"
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sys/unix"
)

// rootfs returns the root file system of an image (host/repo@digest in
// this localaws's registry) and its configuration. Each layer is unpacked
// once, by its diff ID, with its whiteouts in overlayfs's form, and shared
// by every image built on it; an image's root is a read-only overlay of its
// layers, mounted once per digest until localaws stops, so that a new image
// on a known base costs only its new layers and no copy or link of the
// base's files.
func (r *runtime) rootfs(ref string) (string, imageConfig, error) {
	var cfg imageConfig
	repo, digest, ok := strings.Cut(strings.TrimPrefix(ref, r.ecr.host+"/"), "@")
	if !ok {
		return "", cfg, badRequest("InvalidParameterValueException", "the function's image %q is not resolved to a digest", ref)
	}
	unlock := r.lock(digest)
	defer unlock()
	ref2, err := name.ParseReference(r.ecr.host+"/"+repo+"@"+digest, name.Insecure)
	if err != nil {
		return "", cfg, err
	}
	img, err := remote.Image(ref2, remote.WithTransport(handlerTransport{r.ecr.registry}))
	if err != nil {
		return "", cfg, errorf(http.StatusBadGateway, "ServiceException", "reading the function's image %s: %v", ref, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return "", cfg, err
	}
	cfg = imageConfig{Entrypoint: cf.Config.Entrypoint, Cmd: cf.Config.Cmd, Env: cf.Config.Env, WorkingDir: cf.Config.WorkingDir}
	dir := filepath.Join(r.dir, "rootfs", strings.TrimPrefix(digest, "sha256:"))
	r.mu.Lock()
	mounted := r.roots[dir]
	r.mu.Unlock()
	if mounted {
		return dir, cfg, nil
	}
	layers, err := img.Layers()
	if err != nil {
		return "", cfg, err
	}
	var dirs []string
	for _, l := range layers {
		ld, err := r.layer(l)
		if err != nil {
			return "", cfg, fmt.Errorf("unpacking a layer of %s: %w", ref, err)
		}
		dirs = append(dirs, ld)
	}
	if err := r.mount(dir, dirs); err != nil {
		return "", cfg, fmt.Errorf("mounting the root of %s: %w", ref, err)
	}
	return dir, cfg, nil
}

// mount makes dir the read-only union of layers (the last on top) and
// records it, for Close to unmount. Beneath the image's layers lies a
// skeleton with the mount points the container needs (/proc, /dev, /sys,
// /tmp), which runc cannot create in a read-only root; it also gives
// overlayfs the two lower layers it wants at least.
func (r *runtime) mount(dir string, layers []string) error {
	skeleton, empty := filepath.Join(r.dir, "skeleton"), filepath.Join(r.dir, "empty")
	for _, d := range []string{dir, empty, skeleton + "/proc", skeleton + "/dev", skeleton + "/sys", skeleton + "/tmp"} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	layers = append([]string{skeleton}, layers...)
	if len(layers) == 1 {
		layers = append(layers, empty)
	}
	// Each layer by a descriptor of this process: no path needs escaping
	// (a ':' or ',' in the state directory), and the options stay short.
	var lower []string
	for _, l := range slices.Backward(layers) {
		f, err := os.Open(l)
		if err != nil {
			return err
		}
		defer f.Close()
		lower = append(lower, fmt.Sprintf("/proc/self/fd/%d", f.Fd()))
	}
	if err := unix.Mount("overlay", dir, "overlay", unix.MS_RDONLY, "lowerdir="+strings.Join(lower, ":")); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed { // Close has unmounted the others already
		return errors.Join(errors.New("localaws is stopping"), unix.Unmount(dir, unix.MNT_DETACH))
	}
	r.roots[dir] = true
	return nil
}

// unmountRoots unmounts every image root under the state directory: those
// this localaws mounted, and those a previous one left when it was killed.
func (r *runtime) unmountRoots() {
	prefix := filepath.Join(r.dir, "rootfs") + "/"
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return
	}
	defer f.Close()
	var points []string
	for s := bufio.NewScanner(f); s.Scan(); {
		if fields := strings.Fields(s.Text()); len(fields) > 4 { // the fifth is the mount point, octal-escaped
			if p := unescapeMountPoint(fields[4]); strings.HasPrefix(p, prefix) {
				points = append(points, p)
			}
		}
	}
	for _, p := range points {
		unix.Unmount(p, unix.MNT_DETACH)
	}
	r.mu.Lock()
	clear(r.roots)
	r.mu.Unlock()
}

// unescapeMountPoint undoes mountinfo's escapes of space, tab, newline and backslash.
func unescapeMountPoint(s string) string {
	return strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`).Replace(s)
}

// lock serializes work on one key (a digest or a diff ID) and returns the unlock.
func (r *runtime) lock(key string) func() {
	r.mu.Lock()
	l := r.unpacking[key]
	if l == nil {
		l = &sync.Mutex{}
		r.unpacking[key] = l
	}
	r.mu.Unlock()
	l.Lock()
	return l.Unlock
}

// layer unpacks one layer into layers/<diff ID>, once.
func (r *runtime) layer(l v1.Layer) (string, error) {
	id, err := l.DiffID()
	if err != nil {
		return "", err
	}
	unlock := r.lock(id.String())
	defer unlock()
	dir := filepath.Join(r.dir, "layers", id.Hex)
	if _, err := os.Stat(dir + ".unpacked"); err == nil {
		return dir, nil
	}
	os.RemoveAll(dir)
	os.Remove(dir + ".complete") // an older localaws's, with OCI whiteouts as files
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	rc, err := l.Uncompressed()
	if err != nil {
		return "", err
	}
	if err := untar(rc, dir); err != nil {
		return "", err
	}
	return dir, os.WriteFile(dir+".unpacked", nil, 0o644)
}

// The OCI whiteouts: a file deleted by a layer, and a directory whose
// lower contents it hides. Other names under the prefix are reserved.
const (
	whiteout = ".wh."
	opaque   = ".wh..wh..opq"
)

// untar unpacks a layer into dir, confined to it (through os.Root, no
// entry, hard link or symlink reaches outside), with the OCI whiteouts
// turned into overlayfs's: a deleted file becomes a character device 0/0,
// and a directory that hides what lower layers had gets the
// trusted.overlay.opaque attribute.
func untar(rc io.ReadCloser, dir string) error {
	defer rc.Close()
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(filepath.Clean("/"+h.Name), "/")
		if rel == "" {
			continue
		}
		parent, base := filepath.Dir(rel), filepath.Base(rel)
		if err := root.MkdirAll(parent, 0o755); err != nil {
			return err
		}
		switch {
		case base == opaque:
			err = inDir(root, parent, func(fd int) error { return unix.Fsetxattr(fd, "trusted.overlay.opaque", []byte("y"), 0) })
		case strings.HasPrefix(base, whiteout+whiteout):
			continue
		case strings.HasPrefix(base, whiteout):
			err = inDir(root, parent, func(fd int) error { return unix.Mknodat(fd, strings.TrimPrefix(base, whiteout), unix.S_IFCHR, 0) })
		default:
			err = unpack(root, rel, h, tr)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", h.Name, err)
		}
	}
}

// inDir calls f with a descriptor of the directory rel of root.
func inDir(root *os.Root, rel string, f func(fd int) error) error {
	d, err := root.Open(rel)
	if err != nil {
		return err
	}
	defer d.Close()
	return f(int(d.Fd()))
}

// unpack writes one entry of a layer at rel.
func unpack(root *os.Root, rel string, h *tar.Header, content io.Reader) error {
	mode := h.FileInfo().Mode() // with the setuid, setgid and sticky bits
	switch h.Typeflag {
	case tar.TypeDir:
		if err := root.MkdirAll(rel, 0o755); err != nil {
			return err
		}
	case tar.TypeReg:
		f, err := root.OpenFile(rel, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		_, err = io.Copy(f, content)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	case tar.TypeSymlink:
		root.Remove(rel)
		return errors.Join(root.Symlink(h.Linkname, rel), root.Lchown(rel, h.Uid, h.Gid))
	case tar.TypeLink:
		root.Remove(rel)
		return root.Link(strings.TrimPrefix(filepath.Clean("/"+h.Linkname), "/"), rel)
	default:
		return nil // devices and fifos: the runtime provides /dev
	}
	return errors.Join(root.Lchown(rel, h.Uid, h.Gid), root.Chmod(rel, mode&(os.ModePerm|os.ModeSetuid|os.ModeSetgid|os.ModeSticky)))
}

// handlerTransport serves requests straight from the registry handler, so
// the runtime reads images without a token.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, req)
	return rec.Result(), nil
}
