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
	return buildkitd(t, nil)
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
	return buildkitd(t, []string{"--addr", addr, "--tlscacert", filepath.Join(dir, "ca.pem"),
		"--tlscert", filepath.Join(dir, "server.pem"), "--tlskey", filepath.Join(dir, "server-key.pem")}, "--tlsdir", dir)
}

// buildkitd runs one buildkitd, on a unix socket unless listen says where,
// and waits until buildctl (with ctlArgs) gets an answer.
func buildkitd(t testing.TB, listen []string, ctlArgs ...string) string {
	t.Helper()
	bin := Tool(t, "buildkitd")
	if os.Geteuid() != 0 {
		t.Fatalf("buildkitd needs root here: run the tests as root (CI does)")
	}
	dir, err := os.MkdirTemp("", "bk-") // short: a unix socket path has at most 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	addr := "unix://" + filepath.Join(dir, "buildkitd.sock")
	args := []string{"--root", filepath.Join(dir, "root"), "--addr", addr}
	if listen != nil {
		addr, args = listen[1], append([]string{"--root", filepath.Join(dir, "root")}, listen...)
	}
	var logs bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		os.RemoveAll(dir)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		ctl := append([]string{"--addr", addr}, ctlArgs...)
		if out, err := exec.CommandContext(ctx, Tool(t, "buildctl"), append(ctl, "debug", "workers")...).CombinedOutput(); err == nil {
			return addr
		} else if ctx.Err() != nil {
			t.Fatalf("buildkitd did not become ready: %v\n%s\nbuildkitd log:\n%s", err, out, logs.String())
		}
		select {
		case <-done:
			t.Fatalf("buildkitd exited:\n%s", logs.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

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
