// Package testenv starts the real daemons the tests run against (buildkitd
// today), each in its own temporary directory, and stops them by PID when the
// test ends. Tools come from PATH, where `make test` puts the bootstrap's.
package testenv

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
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
	bin := Tool(t, "buildkitd")
	if os.Geteuid() != 0 {
		t.Fatalf("buildkitd needs root here: run the tests as root (CI does)")
	}
	dir, err := os.MkdirTemp("", "bk-") // short: a unix socket path has at most 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "buildkitd.sock")
	var logs bytes.Buffer
	cmd := exec.Command(bin, "--root", filepath.Join(dir, "root"), "--addr", "unix://"+sock)
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
	addr := "unix://" + sock
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		if out, err := exec.CommandContext(ctx, Tool(t, "buildctl"), "--addr", addr, "debug", "workers").CombinedOutput(); err == nil {
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
