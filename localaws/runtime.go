package localaws

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// runtime runs function images the way Lambda does: each container runs an
// image's read-only root (an overlay of its layers, each unpacked once and
// shared between images; rootfs.go), run by runc under a monitor of its own
// (monitor.go) in the host's network namespace, and served the Lambda
// Runtime API on its own loopback port. Containers stay warm between invocations, one invocation
// at a time each, until they have been idle for a while.
type runtime struct {
	dir    string // layers/<diff ID>, rootfs/<digest> (mount points), bundles/<id>, runc/ (runc's state)
	ecr    *ecrService
	logs   *logsService
	region string
	idle   time.Duration

	mu        sync.Mutex
	pools     map[string][]*container // idle containers by function revision
	all       map[*container]bool
	started   []string // every container's id, for tests to check that none is left
	peak      int      // the most containers alive at once, for tests to see concurrency
	unpacking map[string]*sync.Mutex
	roots     map[string]bool // the image roots mounted
	closed    bool
	stop      chan struct{}
}

func newRuntime(opts Options, e *ecrService, logs *logsService) (*runtime, error) {
	r := &runtime{dir: filepath.Join(opts.Dir, "runtime"), ecr: e, logs: logs, region: opts.Region, idle: opts.IdleTimeout,
		pools: map[string][]*container{}, all: map[*container]bool{}, unpacking: map[string]*sync.Mutex{}, roots: map[string]bool{}, stop: make(chan struct{})}
	if r.idle == 0 {
		r.idle = 5 * time.Minute
	}
	r.cleanup()
	if err := os.MkdirAll(filepath.Join(r.dir, "bundles"), 0o700); err != nil {
		return nil, err
	}
	go r.reap()
	return r, nil
}

// cleanup kills and deletes the containers a previous run left behind (it
// was killed or crashed), with their cgroups and bundles, and unmounts the
// image roots it left.
func (r *runtime) cleanup() {
	out, _ := r.runc("list", "-q").Output()
	ids := strings.Fields(string(out))
	bundles, _ := os.ReadDir(filepath.Join(r.dir, "bundles"))
	for _, b := range bundles {
		if !slices.Contains(ids, b.Name()) {
			ids = append(ids, b.Name())
		}
	}
	for _, id := range ids {
		r.runc("kill", id, "KILL").Run()
		r.runc("delete", "--force", id).Run()
		removeCgroups(id)
	}
	os.RemoveAll(filepath.Join(r.dir, "bundles"))
	r.unmountRoots()
	os.RemoveAll(filepath.Join(r.dir, "rootfs")) // mount points only, or an older localaws's linked roots
}

// removeCgroups removes a container's cgroups (unified, or one per v1
// controller) that runc could not: it had lost the container's state.
func removeCgroups(id string) {
	groups, _ := filepath.Glob("/sys/fs/cgroup/*/localaws/" + id)
	for _, g := range append(groups, "/sys/fs/cgroup/localaws/"+id) {
		os.Remove(g) // a cgroup directory goes with rmdir once its processes are gone
	}
}

// invocation is one call to a function, handed to a container.
type invocation struct {
	id       string
	arn      string // the ARN it was invoked by
	payload  []byte
	deadline time.Time
	done     chan outcome
}

// outcome is how an invocation ended.
type outcome struct {
	payload   []byte
	errType   string // set when the function failed
	requestID string
}

type container struct {
	id, key, stream string
	args            []string
	fn              funcConfig
	rt              *runtime
	cmd             *exec.Cmd
	api             *http.Server
	addr            string
	next            chan *invocation
	exited          chan struct{}
	exitErr         error
	out             *output
	initOnce        sync.Once
	initErr         []byte // the runtime's /init/error payload
	initErrType     string
	started         time.Time
	initDuration    time.Duration
	mu              sync.Mutex
	current         *invocation
	lines           []string // log lines of the current invocation
	lastUsed        time.Time
	cold            bool
}

// Invoke runs one invocation of a function version and returns the
// response payload, whether the function failed, the version that ran and
// the log tail.
func (r *runtime) Invoke(fn funcConfig, invokedArn string, payload []byte) (out outcome, tail string, err error) {
	c, err := r.acquire(fn)
	if err != nil {
		return outcome{}, "", err
	}
	inv := &invocation{id: requestID(), arn: invokedArn, payload: payload, deadline: time.Now().Add(time.Duration(fn.Timeout) * time.Second), done: make(chan outcome, 1)}
	c.mu.Lock()
	c.current, c.lines = inv, nil
	cold := c.cold
	c.cold = false
	c.mu.Unlock()
	c.log(fmt.Sprintf("START RequestId: %s Version: %s", inv.id, fn.Version))
	start := time.Now()
	c.next <- inv
	timer := time.NewTimer(time.Until(inv.deadline))
	defer timer.Stop()
	alive := true
	select {
	case out = <-inv.done:
	case <-timer.C:
		alive = false
		secs := float64(fn.Timeout)
		msg := fmt.Sprintf("%s %s Task timed out after %.2f seconds", time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), inv.id, secs)
		c.log(msg)
		out = outcome{payload: mustJSON(map[string]string{"errorMessage": msg, "errorType": "Sandbox.Timedout"}), errType: "Unhandled"}
	case <-c.exited:
		alive = false
		out = c.exitOutcome(inv)
	}
	if out.errType != "" && c.initErr != nil {
		alive = false // an init error leaves no runtime to reuse
	}
	duration := time.Since(start)
	c.out.drain() // what the function printed comes before END
	c.log("END RequestId: " + inv.id)
	report := fmt.Sprintf("REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: %d MB\tMax Memory Used: %d MB",
		inv.id, ms(duration), int(math.Ceil(ms(duration))), fn.MemorySize, c.maxMemoryMB())
	if cold {
		c.mu.Lock()
		initDuration := c.initDuration
		c.mu.Unlock()
		report += fmt.Sprintf("\tInit Duration: %.2f ms", ms(initDuration))
	}
	c.log(report)
	c.mu.Lock()
	lines := strings.Join(c.lines, "\n") + "\n"
	c.current = nil
	c.mu.Unlock()
	if len(lines) > 4096 {
		lines = lines[len(lines)-4096:]
	}
	r.release(c, alive)
	out.requestID = inv.id
	return out, base64.StdEncoding.EncodeToString([]byte(lines)), nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// exitOutcome describes a runtime that exited during an invocation.
func (c *container) exitOutcome(inv *invocation) outcome {
	if c.initErr != nil {
		return outcome{payload: c.initErr, errType: "Unhandled"}
	}
	reason := "Runtime exited with error: " + exitText(c.exitErr)
	errType := "Runtime.ExitError"
	c.out.drain()
	if strings.Contains(c.out.String(), "exec format error") {
		reason, errType = "fork/exec "+c.args[0]+": exec format error", "Runtime.InvalidEntrypoint"
	}
	msg := fmt.Sprintf("RequestId: %s Error: %s", inv.id, reason)
	c.log(msg + "\n" + errType)
	return outcome{payload: mustJSON(map[string]string{"errorType": errType, "errorMessage": msg}), errType: "Unhandled"}
}

// exitText says how the container ended, from its monitor's exit (which
// reports a signal as 128 + its number, as runc does).
func exitText(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok {
			if ws.Signaled() {
				return "signal: " + ws.Signal().String()
			}
			if code := ws.ExitStatus(); code > 128 && code < 128+65 {
				return "signal: " + syscall.Signal(code-128).String()
			}
			return "exit status " + strconv.Itoa(ws.ExitStatus())
		}
	}
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// log writes a line to the container's stream and to the invocation's tail.
func (c *container) log(line string) {
	c.mu.Lock()
	if c.current != nil {
		c.lines = append(c.lines, line)
	}
	c.mu.Unlock()
	c.rt.logs.Append("/aws/lambda/"+c.fn.FunctionName, c.stream, logEvent{Timestamp: nowMs(), Message: line})
}

func poolKey(fn funcConfig) string {
	return fn.FunctionName + "|" + fn.Version + "|" + fn.Image.Resolved + "|" + fn.RevisionId
}

// acquire returns a warm idle container for the function revision, or starts one.
func (r *runtime) acquire(fn funcConfig) (*container, error) {
	key := poolKey(fn)
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, errorf(http.StatusServiceUnavailable, "ServiceException", "localaws is shutting down")
	}
	for pool := r.pools[key]; len(pool) > 0; pool = r.pools[key] {
		c := pool[len(pool)-1]
		r.pools[key] = pool[:len(pool)-1]
		select {
		case <-c.exited:
			continue
		default:
		}
		r.mu.Unlock()
		return c, nil
	}
	r.mu.Unlock()
	return r.start(fn, key)
}

// release returns a container to its pool, or stops it.
func (r *runtime) release(c *container, alive bool) {
	r.mu.Lock()
	if alive && !r.closed {
		c.lastUsed = time.Now()
		r.pools[c.key] = append(r.pools[c.key], c)
		r.mu.Unlock()
		return
	}
	r.mu.Unlock()
	r.kill(c)
}

// reap stops containers idle for longer than r.idle.
func (r *runtime) reap() {
	tick := time.NewTicker(min(r.idle/2+time.Millisecond, 10*time.Second))
	defer tick.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-tick.C:
		}
		var idle []*container
		r.mu.Lock()
		for key, pool := range r.pools {
			keep := pool[:0]
			for _, c := range pool {
				if time.Since(c.lastUsed) > r.idle {
					idle = append(idle, c)
				} else {
					keep = append(keep, c)
				}
			}
			r.pools[key] = keep
		}
		r.mu.Unlock()
		for _, c := range idle {
			r.kill(c)
		}
	}
}

// Close stops every container and unmounts the image roots.
func (r *runtime) Close() {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed = true
	close(r.stop)
	all := make([]*container, 0, len(r.all))
	for c := range r.all {
		all = append(all, c)
	}
	r.mu.Unlock()
	for _, c := range all {
		r.kill(c)
	}
	r.unmountRoots()
}

// Running counts the containers alive.
func (r *runtime) Running() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.all)
}

func (r *runtime) runc(args ...string) *exec.Cmd {
	return exec.Command("runc", append([]string{"--root", filepath.Join(r.dir, "runc")}, args...)...)
}

// kill stops a container and removes everything it had.
func (r *runtime) kill(c *container) {
	r.runc("kill", c.id, "KILL").Run()
	select {
	case <-c.exited:
	case <-time.After(10 * time.Second):
		c.cmd.Process.Kill()
		<-c.exited
	}
	r.runc("delete", "--force", c.id).Run()
	c.api.Close()
	os.RemoveAll(filepath.Join(r.dir, "bundles", c.id))
	r.mu.Lock()
	delete(r.all, c)
	r.mu.Unlock()
}

// imageConfig is what a container needs from the image.
type imageConfig struct {
	Entrypoint, Cmd, Env []string
	WorkingDir           string
}

// start unpacks (once) and runs a new container for the function revision.
func (r *runtime) start(fn funcConfig, key string) (*container, error) {
	rootfs, cfg, err := r.rootfs(fn.Image.Resolved)
	if err != nil {
		return nil, err
	}
	hex := strings.ReplaceAll(requestID(), "-", "") // 32 hex digits, as Lambda's stream names end with
	id := "lc-" + hex
	c := &container{id: id, key: key, fn: fn, rt: r, next: make(chan *invocation, 1), exited: make(chan struct{}), cold: true,
		stream: fmt.Sprintf("%s/[%s]%s", time.Now().UTC().Format("2006/01/02"), fn.Version, hex)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	c.addr = ln.Addr().String()
	c.api = &http.Server{Handler: http.HandlerFunc(c.serveRuntimeAPI), ErrorLog: quietLogger()}
	go c.api.Serve(ln)

	args := append(append([]string{}, cfg.Entrypoint...), cfg.Cmd...)
	c.args = args
	if len(args) == 0 {
		c.api.Close()
		return nil, badRequest("InvalidParameterValueException", "the image %s has neither ENTRYPOINT nor CMD", fn.Image.Resolved)
	}
	bundle := filepath.Join(r.dir, "bundles", id)
	if err := os.MkdirAll(bundle, 0o700); err != nil {
		return nil, err
	}
	spec := ociSpec(rootfs, args, c.env(cfg), cfg.WorkingDir, id, fn.MemorySize)
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), mustJSON(spec), 0o600); err != nil {
		return nil, err
	}
	c.cmd, err = monitorCommand(filepath.Join(bundle, "pid"), append(r.runc().Args, "run", "--detach", "--pid-file", filepath.Join(bundle, "pid"), "--bundle", bundle, id)...)
	if err != nil {
		c.api.Close()
		return nil, err
	}
	// Should localaws die, the monitor gets SIGTERM and kills the
	// container; whatever is left, the next start removes (cleanup).
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	pr, pw, err := os.Pipe()
	if err != nil {
		c.api.Close()
		return nil, err
	}
	c.cmd.Stdout, c.cmd.Stderr = pw, pw // one stream, as Lambda logs them, which the container writes itself
	c.out = newOutput(pr, pw)
	c.started = time.Now()
	started := make(chan error)
	go func() {
		// The parent-death signal comes when the thread that started the
		// child ends: this goroutine keeps its thread until the child has.
		goruntime.LockOSThread()
		defer goruntime.UnlockOSThread()
		if err := c.cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		c.exitErr = c.cmd.Wait()
		c.out.closeWriter()
		close(c.exited)
	}()
	if err := <-started; err != nil {
		pr.Close()
		pw.Close()
		c.api.Close()
		os.RemoveAll(bundle)
		return nil, err
	}
	r.mu.Lock()
	r.all[c] = true
	r.peak = max(r.peak, len(r.all))
	r.started = append(r.started, c.id)
	r.mu.Unlock()
	go c.out.run(c.log)
	return c, nil
}

// output is a container's stdout and stderr, one pipe read line by line
// into its log stream. localaws keeps a write end of the pipe too: drain
// writes a mark into it and waits for the reader to reach the mark, so that
// every line the function wrote before it answered is logged before END, as
// Lambda orders them. The pipe is first in, first out, so nothing races.
type output struct {
	r, w  *os.File
	mark  string        // never printed by a function: NULs and a random nonce
	marks chan int64    // the number of each mark the reader reached
	sent  int64         // marks written, under drain's single caller
	done  chan struct{} // closed when the reader reaches the end of the pipe
	mu    sync.Mutex
	text  bytes.Buffer // the first 64 KiB, for runc's own start failures
}

// maxLine is where a line without a newline is cut, like the size limit of
// a log event.
const maxLine = 256 << 10

func newOutput(r, w *os.File) *output {
	nonce := make([]byte, 8)
	rand.Read(nonce)
	return &output{r: r, w: w, mark: fmt.Sprintf("\x00localaws-drain-%x\x00", nonce), marks: make(chan int64, 16), done: make(chan struct{})}
}

func (o *output) run(log func(string)) {
	defer close(o.done)
	defer o.r.Close()
	mark := []byte(o.mark)
	s := bufio.NewScanner(o.r)
	s.Buffer(make([]byte, 64<<10), 2*maxLine)
	s.Split(func(data []byte, atEOF bool) (int, []byte, error) {
		nl, m := bytes.IndexByte(data, '\n'), bytes.Index(data, mark)
		switch {
		case m == 0:
			return len(mark), mark, nil
		case m > 0 && (nl < 0 || m < nl):
			return m, data[:m], nil // a line the mark ends
		case nl < 0 && len(data) >= maxLine:
			return maxLine, data[:maxLine], nil
		}
		return bufio.ScanLines(data, atEOF)
	})
	var seen int64
	for s.Scan() {
		if bytes.Equal(s.Bytes(), mark) {
			seen++
			select {
			case o.marks <- seen:
			default: // nobody waits for it any more
			}
			continue
		}
		line := s.Text()
		o.mu.Lock()
		if o.text.Len() < 64<<10 {
			o.text.WriteString(line + "\n")
		}
		o.mu.Unlock()
		log(strings.ReplaceAll(line, "\r", "\n"))
	}
	io.Copy(io.Discard, o.r) // only after a read error: never block the function's writes
}

// drain returns once every line written to the pipe before it was called is
// logged: when the reader reaches the mark it wrote, or the end of the pipe.
// It gives up after a few seconds, should the reader be stuck.
func (o *output) drain() {
	timeout := time.After(5 * time.Second)
	o.mu.Lock()
	w := o.w
	o.mu.Unlock()
	if w != nil {
		if _, err := w.WriteString(o.mark); err == nil {
			o.sent++
			for {
				select {
				case n := <-o.marks:
					if n >= o.sent {
						return
					}
					continue
				case <-o.done:
				case <-timeout:
				}
				return
			}
		}
	}
	select {
	case <-o.done:
	case <-timeout:
	}
}

// closeWriter closes localaws's own write end once the container has
// exited, so the reader sees the end of the pipe.
func (o *output) closeWriter() {
	o.mu.Lock()
	w := o.w
	o.w = nil
	o.mu.Unlock()
	if w != nil {
		w.Close()
	}
}

// String is what the container wrote first.
func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.text.String()
}

// env is the container's environment: the image's, the function's, and Lambda's own variables.
func (c *container) env(cfg imageConfig) []string {
	fn := c.fn
	vars := map[string]string{}
	var order []string
	set := func(k, v string) {
		if _, ok := vars[k]; !ok {
			order = append(order, k)
		}
		vars[k] = v
	}
	for _, kv := range cfg.Env {
		k, v, _ := strings.Cut(kv, "=")
		set(k, v)
	}
	if fn.Environment != nil {
		for k, v := range fn.Environment.Variables {
			set(k, v)
		}
	}
	handler := ""
	if len(cfg.Cmd) > 0 {
		handler = cfg.Cmd[0]
	}
	for k, v := range map[string]string{
		"AWS_LAMBDA_RUNTIME_API": c.addr, "AWS_LAMBDA_FUNCTION_NAME": fn.FunctionName, "AWS_LAMBDA_FUNCTION_VERSION": fn.Version,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(fn.MemorySize), "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/" + fn.FunctionName,
		"AWS_LAMBDA_LOG_STREAM_NAME": c.stream, "AWS_REGION": c.rt.region, "AWS_DEFAULT_REGION": c.rt.region, "_HANDLER": handler,
		"AWS_EXECUTION_ENV": "AWS_Lambda_Image", "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
	} {
		set(k, v)
	}
	if _, ok := vars["LAMBDA_TASK_ROOT"]; !ok {
		set("LAMBDA_TASK_ROOT", "/var/task")
	}
	if _, ok := vars["PATH"]; !ok {
		set("PATH", "/usr/local/bin:/usr/bin:/bin")
	}
	out := make([]string, 0, len(order))
	for _, k := range order {
		out = append(out, k+"="+vars[k])
	}
	return out
}

// maxMemoryMB reads the container's peak memory from its cgroup.
func (c *container) maxMemoryMB() int {
	for _, f := range []string{
		"/sys/fs/cgroup/memory/localaws/" + c.id + "/memory.max_usage_in_bytes",
		"/sys/fs/cgroup/localaws/" + c.id + "/memory.peak",
	} {
		if b, err := os.ReadFile(f); err == nil {
			if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil {
				return int(math.Ceil(float64(n) / (1 << 20)))
			}
		}
	}
	return 0
}

// endInit records the init duration: init ends at the runtime's first
// request for an invocation, or at its init error.
func (c *container) endInit() {
	c.initOnce.Do(func() {
		c.mu.Lock()
		c.initDuration = time.Since(c.started)
		c.mu.Unlock()
	})
}

// serveRuntimeAPI is the Lambda Runtime API for one container.
func (c *container) serveRuntimeAPI(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(r.URL.Path, "/2018-06-01/runtime")
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxBody))
	switch {
	case r.Method == http.MethodGet && p == "/invocation/next":
		c.endInit()
		select {
		case inv := <-c.next:
			h := w.Header()
			h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
			h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.deadline.UnixMilli(), 10))
			h.Set("Lambda-Runtime-Invoked-Function-Arn", inv.arn)
			h.Set("Lambda-Runtime-Trace-Id", "Root=1-"+strconv.FormatInt(time.Now().Unix(), 16)+"-"+strings.ReplaceAll(inv.id, "-", "")[:24]+";Sampled=0")
			h.Set("Content-Type", "application/json")
			w.Write(inv.payload)
		case <-r.Context().Done():
		case <-c.exited:
		}
	case r.Method == http.MethodPost && p == "/init/error":
		c.endInit() // failed
		c.mu.Lock()
		c.initErr, c.initErrType = body, r.Header.Get("Lambda-Runtime-Function-Error-Type")
		inv := c.current
		c.mu.Unlock()
		if inv != nil {
			inv.done <- outcome{payload: body, errType: "Unhandled"}
		}
		w.WriteHeader(http.StatusAccepted)
		w.Write([]byte(`{"status":"OK"}`))
	case r.Method == http.MethodPost && strings.HasPrefix(p, "/invocation/"):
		id, what, _ := strings.Cut(strings.TrimPrefix(p, "/invocation/"), "/")
		c.mu.Lock()
		inv := c.current
		c.mu.Unlock()
		if inv == nil || inv.id != id {
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"errorType":"InvalidRequestID","errorMessage":"no invocation with that request id is in progress"}`))
			return
		}
		switch what {
		case "response":
			inv.done <- outcome{payload: body}
		case "error":
			inv.done <- outcome{payload: body, errType: "Unhandled"}
		default:
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.WriteHeader(http.StatusAccepted)
		w.Write([]byte(`{"status":"OK"}`))
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

// ociSpec is the runc configuration of a function container: a read-only
// root with a writable /tmp, the host's network (so the Runtime API on
// loopback is reachable), and a memory limit with no swap.
func ociSpec(rootfs string, args, env []string, cwd, id string, memoryMB int) map[string]any {
	if cwd == "" {
		cwd = "/"
	}
	caps := []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_NET_BIND_SERVICE"}
	limit := int64(memoryMB) << 20
	return map[string]any{
		"ociVersion": "1.0.2",
		"process": map[string]any{
			"terminal": false, "user": map[string]int{"uid": 0, "gid": 0}, "args": args, "env": env, "cwd": cwd,
			"capabilities":    map[string][]string{"bounding": caps, "effective": caps, "permitted": caps},
			"rlimits":         []map[string]any{{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}},
			"noNewPrivileges": true,
		},
		"root":     map[string]any{"path": rootfs, "readonly": true},
		"hostname": "localaws",
		"mounts": []map[string]any{
			{"destination": "/proc", "type": "proc", "source": "proc"},
			{"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}},
			{"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
			{"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": []string{"nosuid", "noexec", "nodev", "ro"}},
			{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": []string{"nosuid", "nodev", "mode=1777", "size=524288k"}},
		},
		"linux": map[string]any{
			"cgroupsPath": "/localaws/" + id,
			"resources": map[string]any{
				"devices": []map[string]any{{"allow": false, "access": "rwm"}},
				"memory":  map[string]any{"limit": limit, "swap": limit},
			},
			"namespaces":    []map[string]string{{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}},
			"maskedPaths":   []string{"/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/sched_debug", "/sys/firmware"},
			"readonlyPaths": []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"},
		},
	}
}
