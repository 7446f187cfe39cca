package tests

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lambdacontainer/pulumi-lambdacontainer/internal/testenv"
)

// TestDemo runs the README's main command, scripts/demo.sh, to its end and
// reads its output for what the README promises: version 1's verification
// (status 200, from a cold start, with the REPORT line), a preview that
// names the one changed file, and version 2 deployed with cache hits. Then
// everything it started must be gone, its directory too.
func TestDemo(t *testing.T) {
	d := startDemo(t)
	if err := d.wait(t); err != nil {
		t.Fatalf("the demo failed: %v\n%s", err, d.out.String())
	}
	out := d.out.String()
	t.Logf("the demo:\n%s", out)

	var v1 map[string]any
	if err := json.Unmarshal([]byte(section(t, out, "the verification of version 1")), &v1); err != nil {
		t.Fatalf("the verification of version 1 is not JSON: %v", err)
	}
	checkVerification(t, v1, "1")
	if preview := section(t, out, "pulumi preview --diff names it"); !strings.Contains(preview, "~ app/routers/health.py: ") {
		t.Errorf("the preview does not name the changed file:\n%s", preview)
	}
	if up := section(t, out, "pulumi up: only the code layer"); !stepsCached.MatchString(up) || !strings.Contains(up, "deployed version 2 of orders-api") {
		t.Errorf("the second up does not deploy version 2 from the cache:\n%s", up)
	}
	var outputs map[string]any
	if err := json.Unmarshal([]byte(section(t, out, "the outputs")), &outputs); err != nil || outputs["version"] != "2" {
		t.Fatalf("the outputs after the second up: %v %v", err, outputs)
	}
	checkVerification(t, outputs["verification"], "2")
	d.checkGone(t, nil)
}

// TestDemoStopsEverythingOnCtrlC interrupts the demo during its second
// deployment as a terminal's Ctrl-C does (SIGINT to its process group), and
// then finds none of what it started: localaws, buildkitd, the function's
// containers, any other process of its session, its directory.
func TestDemoStopsEverythingOnCtrlC(t *testing.T) {
	runc := testenv.Tool(t, "runc")
	d := startDemo(t)
	d.waitFor(t, "== pulumi up: only the code layer")
	// Version 1's container stays warm after its verification.
	list, err := exec.Command(runc, "--root", filepath.Join(d.field(t, workRe), "localaws", "runtime", "runc"), "list", "--format", "json").Output()
	var containers []struct{ Pid int }
	if err != nil || json.Unmarshal(list, &containers) != nil || len(containers) == 0 {
		t.Fatalf("no function container is running before the interrupt: %v %s", err, list)
	}
	if err := syscall.Kill(-d.cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := d.wait(t); err == nil || strings.Contains(d.out.String(), "demo: done") {
		t.Fatalf("the interrupted demo ran to its end: %v\n%s", err, d.out.String())
	}
	t.Logf("the interrupted demo:\n%s", d.out.String())
	var pids []int
	for _, c := range containers {
		pids = append(pids, c.Pid)
	}
	d.checkGone(t, pids)
}

// demo is a run of scripts/demo.sh in a session of its own, with TMPDIR in
// the test's temporary directory.
type demo struct {
	cmd  *exec.Cmd
	out  *testenv.Buffer
	done chan error
	err  error
}

var (
	workRe      = regexp.MustCompile(`demo: working in (\S+) \(pid (\d+)\)`)
	localawsRe  = regexp.MustCompile(`localaws pid (\d+)`)
	buildkitdRe = regexp.MustCompile(`buildkitd at \S+, pid (\d+)`)
)

func startDemo(t *testing.T) *demo {
	t.Helper()
	d := &demo{cmd: exec.Command("../scripts/demo.sh"), out: &testenv.Buffer{}, done: make(chan error, 1)}
	d.cmd.Env = append(os.Environ(), "TMPDIR="+t.TempDir())
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.done <- d.cmd.Wait() }()
	t.Cleanup(func() { // after a failure, stop whatever is left of the session
		for pid := range survivors(d.cmd.Process.Pid, nil) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		if d.done != nil {
			<-d.done
		}
	})
	return d
}

// demoTimeout guards against a hung demo; it takes about 30 s.
const demoTimeout = 10 * time.Minute

// wait waits for the demo to end and returns how it ended.
func (d *demo) wait(t *testing.T) error {
	t.Helper()
	if d.done == nil {
		return d.err
	}
	select {
	case d.err = <-d.done:
		d.done = nil
		return d.err
	case <-time.After(demoTimeout):
		t.Fatalf("the demo did not end in %s:\n%s", demoTimeout, d.out.String())
		return nil
	}
}

// waitFor waits until the demo has printed text.
func (d *demo) waitFor(t *testing.T, text string) {
	t.Helper()
	deadline := time.Now().Add(demoTimeout)
	for !strings.Contains(d.out.String(), text) {
		select {
		case err := <-d.done:
			d.done, d.err = nil, err
			t.Fatalf("the demo ended (%v) before printing %q:\n%s", err, text, d.out.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the demo did not print %q in %s:\n%s", text, demoTimeout, d.out.String())
		}
	}
}

// field is the first group re matched in the demo's output.
func (d *demo) field(t *testing.T, re *regexp.Regexp) string {
	t.Helper()
	m := re.FindStringSubmatch(d.out.String())
	if m == nil {
		t.Fatalf("the demo did not print %s:\n%s", re, d.out.String())
	}
	return m[1]
}

// checkGone fails unless the demo's directory is gone and, soon after it
// ended, no process is left of those it printed, of more (the function
// containers), or of its session.
func (d *demo) checkGone(t *testing.T, more []int) {
	t.Helper()
	work := d.field(t, workRe)
	if _, err := os.Stat(work); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the demo left its directory %s: %v", work, err)
	}
	pids := append([]int{}, more...)
	for _, re := range []*regexp.Regexp{localawsRe, buildkitdRe} {
		pid, _ := strconv.Atoi(d.field(t, re))
		pids = append(pids, pid)
	}
	var left map[int]string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if left = survivors(d.cmd.Process.Pid, pids); len(left) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(left) > 0 {
		t.Errorf("after the demo ended these of its processes are still running: %v", left)
	}
}

// survivors are the live processes (pid: name) of the session, or among pids.
func survivors(session int, pids []int) map[int]string {
	out := map[int]string{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp session ...: comm may hold spaces.
		end := bytes.LastIndexByte(stat, ')')
		f := strings.Fields(string(stat[end+1:]))
		if len(f) < 4 || f[0] == "Z" {
			continue
		}
		if sid, _ := strconv.Atoi(f[3]); sid == session || slices.Contains(pids, pid) {
			out[pid] = string(stat[bytes.IndexByte(stat, '(')+1 : end])
		}
	}
	return out
}

// section is what the demo printed under the heading that starts with title.
func section(t *testing.T, out, title string) string {
	t.Helper()
	_, rest, ok := strings.Cut(out, "== "+title)
	if !ok {
		t.Fatalf("the demo printed no %q:\n%s", title, out)
	}
	_, rest, _ = strings.Cut(rest, "\n")
	body, _, _ := strings.Cut(rest, "\x1b[1m== ")
	return body
}
