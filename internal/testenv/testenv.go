// Package testenv gives tests the real parts they run against: a buildkitd
// of their own (in a temporary directory, stopped by PID when the test ends),
// the tools, and the stand-in Python base image. Tools come from PATH, where
// `make test` puts the bootstrap's.
package testenv

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// Tool returns the path of a tool on PATH, or fails the test saying how to get it.
func Tool(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not on PATH: run scripts/bootstrap.sh, then the tests through `make test`", name)
	}
	return path
}

// Buildkitd starts a buildkitd of its own and returns its address (unix://...).
func Buildkitd(t testing.TB) string {
	t.Helper()
	return StartBuildkitd(t).Addr
}

// BuildkitdTLS starts a buildkitd on a loopback TCP port that demands mTLS
// with the certificates in dir: ca.pem, and server.pem and server-key.pem for
// itself. Its clients use cert.pem and key.pem from the same dir.
func BuildkitdTLS(t testing.TB, dir string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "tcp://" + ln.Addr().String()
	ln.Close()
	b := newBuildkitd(t, []string{"--addr", addr, "--tlscacert", filepath.Join(dir, "ca.pem"),
		"--tlscert", filepath.Join(dir, "server.pem"), "--tlskey", filepath.Join(dir, "server-key.pem")}, "--tlsdir", dir)
	return b.Addr
}

// BuildKit is a buildkitd a test can kill and start again (on the same
// address and root), to prove what survives a builder that dies.
type BuildKit struct {
	Addr    string
	t       testing.TB
	args    []string
	ctlArgs []string
	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{}
	logs    Buffer
}

// Buffer collects a process's output while tests read it.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *Buffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// unmountUnder detaches every mount below dir.
func unmountUnder(dir string) {
	data, _ := os.ReadFile("/proc/self/mountinfo")
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(f[4], dir+"/") {
			syscall.Unmount(f[4], syscall.MNT_DETACH)
		}
	}
}

// Root is the daemon's --root: its content store, snapshots and caches.
func (b *BuildKit) Root() string {
	i := slices.Index(b.args, "--root")
	return b.args[i+1]
}

// StartBuildkitd starts a buildkitd on a unix socket of its own.
func StartBuildkitd(t testing.TB) *BuildKit {
	t.Helper()
	return newBuildkitd(t, nil)
}

func newBuildkitd(t testing.TB, listen []string, ctlArgs ...string) *BuildKit {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatalf("buildkitd needs root here: run the tests as root (CI does)")
	}
	dir, err := os.MkdirTemp("", "bk-") // short: a unix socket path has at most 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	b := &BuildKit{t: t, ctlArgs: ctlArgs, Addr: "unix://" + filepath.Join(dir, "buildkitd.sock")}
	// --debug logs each BuildKit session, which tests count.
	b.args = []string{"--debug", "--root", filepath.Join(dir, "root"), "--addr", b.Addr}
	if listen != nil {
		b.Addr, b.args = listen[1], append([]string{"--debug", "--root", filepath.Join(dir, "root")}, listen...)
	}
	t.Cleanup(func() {
		b.stop(syscall.SIGTERM)
		unmountUnder(dir) // a buildkitd killed mid-build leaves its steps' mounts
		os.RemoveAll(dir)
	})
	b.Start()
	return b
}

// Start starts the daemon (again) and waits until buildctl gets an answer.
func (b *BuildKit) Start() {
	b.t.Helper()
	buildkitd, buildctl := Tool(b.t, "buildkitd"), Tool(b.t, "buildctl") // before locking: a missing tool ends the test
	b.mu.Lock()
	b.cmd = exec.Command(buildkitd, b.args...)
	b.cmd.Stdout, b.cmd.Stderr = &b.logs, &b.logs
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := b.cmd.Start(); err != nil {
		b.mu.Unlock()
		b.t.Fatal(err)
	}
	done := make(chan struct{})
	b.done = done
	go func(cmd *exec.Cmd) { cmd.Wait(); close(done) }(b.cmd)
	b.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		ctl := append([]string{"--addr", b.Addr}, b.ctlArgs...)
		if out, err := exec.CommandContext(ctx, buildctl, append(ctl, "debug", "workers")...).CombinedOutput(); err == nil {
			return
		} else if ctx.Err() != nil {
			b.t.Fatalf("buildkitd did not become ready: %v\n%s\nbuildkitd log:\n%s", err, out, b.Logs())
		}
		select {
		case <-done:
			b.t.Fatalf("buildkitd exited:\n%s", b.Logs())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Kill kills the daemon at once (SIGKILL), as a crash or an OOM kill would.
func (b *BuildKit) Kill() { b.stop(syscall.SIGKILL) }

func (b *BuildKit) stop(sig syscall.Signal) {
	b.mu.Lock()
	cmd, done := b.cmd, b.done
	b.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

// Logs is what the daemon wrote so far.
func (b *BuildKit) Logs() string { return b.logs.String() }

// Sessions counts the BuildKit sessions clients opened so far.
func (b *BuildKit) Sessions() int { return strings.Count(b.logs.String(), "session started") }

// AWSCLI returns Debian's AWS CLI v2 (/usr/bin/aws), whatever else PATH has.
func AWSCLI(t testing.TB) string {
	t.Helper()
	const bin = "/usr/bin/aws"
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil || !bytes.HasPrefix(out, []byte("aws-cli/2.")) {
		t.Fatalf("Debian's AWS CLI v2 is not installed at %s (%v: %s): run scripts/bootstrap.sh", bin, err, out)
	}
	return bin
}

// PythonBase loads the stand-in Lambda Python base image the tool bootstrap
// built (AWS's can't be pulled here).
func PythonBase(t testing.TB) v1.Image {
	t.Helper()
	dir := os.Getenv("LAMBDACONTAINER_PYTHON_BASE")
	if dir == "" {
		t.Fatal("LAMBDACONTAINER_PYTHON_BASE is not set: run scripts/bootstrap.sh, then the tests through `make test`")
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatalf("the Python base image at %s: %v (run scripts/bootstrap.sh)", dir, err)
	}
	m, err := idx.IndexManifest()
	if err != nil || len(m.Manifests) == 0 {
		t.Fatalf("the Python base image at %s is empty: %v", dir, err)
	}
	img, err := idx.Image(m.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	return img
}
