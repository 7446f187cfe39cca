package localaws

import (
	"archive/tar"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"golang.org/x/sys/unix"

	"github.com/lambdacontainer/pulumi-lambdacontainer/internal/testenv"
)

// fileLayer is a layer holding files (path: content).
func fileLayer(t testing.TB, files map[string]string) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, content := range files {
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o755, Size: int64(len(content))})
		tw.Write([]byte(content))
	}
	tw.Close()
	data := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// pythonFunction pushes an image of the base plus app.py (and any more
// layers) and creates a function on it.
func pythonFunction(t *testing.T, s *Server, name, app string, memory, timeout int32, more ...v1.Layer) *lambda.Client {
	t.Helper()
	img, err := mutate.AppendLayers(testenv.PythonBase(t), append([]v1.Layer{fileLayer(t, map[string]string{"var/task/app.py": app})}, more...)...)
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := img.ConfigFile()
	cf.Config.Cmd = []string{"app.handler"}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	ecr.NewFromConfig(cfg(s)).CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(name)})
	if err := push(s, name, "v1", img, login(t, s)); err != nil {
		t.Fatal(err)
	}
	c := lambda.NewFromConfig(cfg(s), func(o *lambda.Options) { o.RetryMaxAttempts = 1 })
	if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String(name), PackageType: types.PackageTypeImage,
		Role: aws.String("arn:aws:iam::123456789012:role/r"), Code: &types.FunctionCode{ImageUri: aws.String(s.RegistryHost() + "/" + name + ":v1")},
		MemorySize: aws.Int32(memory), Timeout: aws.Int32(timeout), Environment: &types.Environment{Variables: map[string]string{"GREETING": "hello"}}}); err != nil {
		t.Fatal(err)
	}
	if err := lambda.NewFunctionActiveV2Waiter(c, func(o *lambda.FunctionActiveV2WaiterOptions) { o.MinDelay = 20 * time.Millisecond }).
		Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)}, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	return c
}

func invoke(t *testing.T, c *lambda.Client, name, payload string) (*lambda.InvokeOutput, string) {
	t.Helper()
	out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(name), Payload: []byte(payload), LogType: types.LogTypeTail})
	if err != nil {
		t.Fatal(err)
	}
	tail, _ := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
	return out, string(tail)
}

const pythonApp = `
import errno, json, os, time

def handler(event, context):
    if event.get("fail"):
        raise ValueError("boom: " + event["fail"])
    if event.get("write"):
        try:
            with open(event["write"], "w") as f:
                f.write("x")
            return {"wrote": event["write"]}
        except OSError as e:
            return {"errno": errno.errorcode[e.errno]}
    for i in range(event.get("spam", 0)):
        print("spam line %04d %s" % (i, "x" * 90))
    if event.get("sleep"):
        time.sleep(event["sleep"])
    if event.get("eat"):
        hog = bytearray(event["eat"] * 1024 * 1024)
        for i in range(0, len(hog), 4096):
            hog[i] = 1
    print("handling", json.dumps(event))
    return {"statusCode": 200, "body": json.dumps({"greeting": os.environ["GREETING"], "request": context.aws_request_id,
            "remaining": context.get_remaining_time_in_millis() > 0, "task_root": os.environ["LAMBDA_TASK_ROOT"]})}
`

func requireRunc(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("runc"); err != nil || os.Geteuid() != 0 {
		t.Fatal("running functions needs runc and root: run scripts/bootstrap.sh and the tests as root (CI does)")
	}
}

func TestInvokeRunsAPythonHandlerWithLambdasLogs(t *testing.T) {
	requireRunc(t)
	s := start(t, Options{UpdateDelay: 20 * time.Millisecond})
	c := pythonFunction(t, s, "py", pythonApp, 256, 10)

	out, tail := invoke(t, c, "py", `{"hello": "world"}`)
	var resp struct {
		StatusCode int
		Body       string
	}
	if err := json.Unmarshal(out.Payload, &resp); err != nil || resp.StatusCode != 200 || out.FunctionError != nil || *out.ExecutedVersion != "$LATEST" {
		t.Fatalf("a success: %v %s %v", err, out.Payload, out.FunctionError)
	}
	var body map[string]any
	json.Unmarshal([]byte(resp.Body), &body)
	if body["greeting"] != "hello" || body["remaining"] != true || body["task_root"] != "/var/task" || body["request"] == "" {
		t.Fatalf("the handler saw: %v", body)
	}
	for _, want := range []string{"START RequestId: ", "Version: $LATEST", `handling {"hello": "world"}`, "END RequestId: ", "REPORT RequestId: ", "Billed Duration: ", "Memory Size: 256 MB", "Max Memory Used: ", "Init Duration: "} {
		if !strings.Contains(tail, want) {
			t.Errorf("the cold tail lacks %q:\n%s", want, tail)
		}
	}
	if i, j := strings.Index(tail, "handling"), strings.Index(tail, "END RequestId: "); i < 0 || j < i {
		t.Errorf("what the function printed must come before END:\n%s", tail)
	}
	r := parseReport(t, tail)
	if r["Duration"] <= 0 || r["Billed Duration"] < r["Duration"] || r["Memory Size"] != 256 || r["Max Memory Used"] < 5 || r["Init Duration"] <= 0 {
		t.Errorf("the REPORT line's values: %v", r)
	}
	_, warm := invoke(t, c, "py", `{}`)
	if strings.Contains(warm, "Init Duration") || !strings.Contains(warm, "REPORT RequestId") {
		t.Errorf("the second invocation must reuse the warm container:\n%s", warm)
	}
	if n := s.lambda.runtime.Running(); n != 1 {
		t.Errorf("%d containers for two sequential invocations", n)
	}

	// The function's root is read-only; /tmp is writable.
	for payload, want := range map[string]string{
		`{"write": "/var/task/x"}`: `{"errno": "EROFS"}`,
		`{"write": "/x"}`:          `{"errno": "EROFS"}`,
		`{"write": "/tmp/x"}`:      `{"wrote": "/tmp/x"}`,
	} {
		if out, _ := invoke(t, c, "py", payload); string(out.Payload) != want {
			t.Errorf("%s: %s, want %s", payload, out.Payload, want)
		}
	}
	// The tail is the log's last 4 KB, REPORT line last.
	_, tail = invoke(t, c, "py", `{"spam": 100}`)
	if lines := strings.Split(strings.TrimSuffix(tail, "\n"), "\n"); len(tail) > 4096 || len(tail) < 4000 || !strings.HasPrefix(lines[len(lines)-1], "REPORT RequestId: ") ||
		strings.Contains(tail, "spam line 0000") || !strings.Contains(tail, "spam line 0099") {
		t.Errorf("the tail of a 10 KB log: %d bytes:\n%s", len(tail), tail)
	}

	failed, tail := invoke(t, c, "py", `{"fail": "bad input"}`)
	var fe struct{ ErrorType, ErrorMessage string }
	json.Unmarshal(failed.Payload, &fe)
	if aws.ToString(failed.FunctionError) != "Unhandled" || fe.ErrorType != "ValueError" || fe.ErrorMessage != "boom: bad input" || !strings.Contains(tail, "[ERROR] ValueError: boom: bad input") {
		t.Fatalf("a raised exception: %v %s\n%s", failed.FunctionError, failed.Payload, tail)
	}
	if aws.ToString(failed.ExecutedVersion) != "$LATEST" {
		t.Errorf("X-Amz-Executed-Version on a function error: %q", aws.ToString(failed.ExecutedVersion))
	}

	// A version runs in a container of its own, logging to a stream named for it.
	if _, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("py")}); err != nil {
		t.Fatal(err)
	}
	if out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("py"), Qualifier: aws.String("1")}); err != nil || aws.ToString(out.ExecutedVersion) != "1" {
		t.Fatalf("invoking version 1: %v", err)
	}
	logs := cloudwatchlogs.NewFromConfig(cfg(s))
	streams, err := logs.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("/aws/lambda/py")})
	if err != nil || len(streams.LogStreams) != 2 {
		t.Fatalf("one log stream per container: %v %+v", err, streams)
	}
	today := time.Now().UTC().Format("2006/01/02")
	for i, version := range []string{`\$LATEST`, "1"} { // "[$LATEST]" sorts first
		if name := *streams.LogStreams[i].LogStreamName; !regexp.MustCompile(`^` + today + `/\[` + version + `\][0-9a-f]{32}$`).MatchString(name) {
			t.Errorf("log stream %q is not named like Lambda's for version %s", name, version)
		}
	}
	errs, _ := logs.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/aws/lambda/py"), FilterPattern: aws.String("ERROR")})
	if len(errs.Events) != 1 {
		t.Fatalf("the error line in CloudWatch Logs: %+v", errs.Events)
	}
	// Shutting down stops the warm containers and leaves nothing behind.
	if n := s.lambda.runtime.Running(); n != 2 {
		t.Fatalf("%d containers before shutting down, want the two warm ones", n)
	}
	s.Close()
	requireNoLeaks(t, s)
}

// parseReport reads the numbers of the REPORT line in a log tail.
func parseReport(t *testing.T, tail string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, line := range strings.Split(tail, "\n") {
		if !strings.HasPrefix(line, "REPORT RequestId: ") {
			continue
		}
		for _, field := range strings.Split(line, "\t")[1:] {
			k, v, _ := strings.Cut(field, ": ")
			n, err := strconv.ParseFloat(strings.Fields(v)[0], 64)
			if err != nil {
				t.Fatalf("REPORT field %q: %v", field, err)
			}
			out[k] = n
		}
	}
	return out
}

// requireNoLeaks checks that no container of s runs or is known to runc,
// and that neither a bundle, a cgroup nor a process of one is left.
func requireNoLeaks(t *testing.T, s *Server) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for s.lambda.runtime.Running() != 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := s.lambda.runtime.Running(); n != 0 {
		t.Fatalf("%d containers still running", n)
	}
	if out, err := exec.Command("runc", "--root", s.opts.Dir+"/runtime/runc", "list", "-q").Output(); err != nil || strings.TrimSpace(string(out)) != "" {
		t.Fatalf("runc still knows containers: %v %q", err, out)
	}
	if bundles, _ := os.ReadDir(filepath.Join(s.opts.Dir, "runtime", "bundles")); len(bundles) != 0 {
		t.Fatalf("%d container bundles left behind", len(bundles))
	}
	s.lambda.runtime.mu.Lock()
	ids := slices.Clone(s.lambda.runtime.started)
	s.lambda.runtime.mu.Unlock()
	if len(ids) == 0 {
		t.Fatal("no container was started")
	}
	for _, id := range ids {
		groups, _ := filepath.Glob("/sys/fs/cgroup/*/localaws/" + id)
		if unified, err := os.Stat("/sys/fs/cgroup/localaws/" + id); err == nil && unified.IsDir() {
			groups = append(groups, "/sys/fs/cgroup/localaws/"+id)
		}
		if len(groups) > 0 {
			t.Fatalf("container %s left its cgroups: %v", id, groups)
		}
	}
}

// TestLayersAreComposedWithWhiteouts runs an image whose top layer deletes
// a file and hides a directory of the layers below (OCI whiteouts), then a
// second image on the same layers, which reuses them.
func TestLayersAreComposedWithWhiteouts(t *testing.T) {
	requireRunc(t)
	s := start(t, Options{UpdateDelay: 20 * time.Millisecond})
	const lister = `
import os

def handler(event, context):
    found = []
    for root, dirs, files in os.walk("/srv"):
        found += [os.path.join(root, f) for f in files]
    return {"files": sorted(found)}
`
	lower := fileLayer(t, map[string]string{"srv/keep.txt": "k", "srv/gone.txt": "g", "srv/dir/old.txt": "o", "srv/dir/sub/older.txt": "o"})
	upper := fileLayer(t, map[string]string{"srv/.wh.gone.txt": "", "srv/dir/.wh..wh..opq": "", "srv/dir/new.txt": "n"})
	for i, fn := range []string{"layered", "layered-again"} {
		c := pythonFunction(t, s, fn, lister+strings.Repeat("\n", i), 128, 10, lower, upper) // two images, one app layer apart
		out, _ := invoke(t, c, fn, `{}`)
		if string(out.Payload) != `{"files": ["/srv/dir/new.txt", "/srv/keep.txt"]}` {
			t.Fatalf("%s sees %s", fn, out.Payload)
		}
	}
	layers, _ := os.ReadDir(filepath.Join(s.opts.Dir, "runtime", "layers"))
	roots, _ := os.ReadDir(filepath.Join(s.opts.Dir, "runtime", "rootfs"))
	if want := 2 * (len(mustLayers(t, testenv.PythonBase(t))) + 4); len(roots) != 2 || len(layers) != want { // a directory and a marker each
		t.Fatalf("%d roots from %d layer entries; the base's layers must be unpacked once", len(roots), len(layers))
	}
	if mounted := mountsUnder(filepath.Join(s.opts.Dir, "runtime", "rootfs")); len(mounted) != 2 {
		t.Fatalf("the two image roots are not overlays of their layers: mounted %v", mounted)
	}
}

// A layer cannot write outside the directory it is unpacked into, through
// a path, a symlink or a hard link; whiteouts become overlayfs's.
func TestUntarStaysInItsDirectory(t *testing.T) {
	outside := t.TempDir()
	layer := func(entries ...tar.Header) io.ReadCloser {
		var b bytes.Buffer
		tw := tar.NewWriter(&b)
		for _, h := range entries {
			h.Mode = 0o644
			if h.Typeflag == tar.TypeDir {
				h.Mode = 0o755
			}
			tw.WriteHeader(&h)
			if h.Size > 0 {
				tw.Write(bytes.Repeat([]byte("x"), int(h.Size)))
			}
		}
		tw.Close()
		return io.NopCloser(&b)
	}
	for name, entries := range map[string][]tar.Header{
		"a path climbing out":        {{Name: "../../" + outside + "/a", Typeflag: tar.TypeReg, Size: 1}},
		"through a symlink":          {{Name: "out", Typeflag: tar.TypeSymlink, Linkname: outside}, {Name: "out/b", Typeflag: tar.TypeReg, Size: 1}},
		"through a relative link":    {{Name: "up", Typeflag: tar.TypeSymlink, Linkname: "../../../../../../../.." + outside}, {Name: "up/c", Typeflag: tar.TypeReg, Size: 1}},
		"a hard link to a host file": {{Name: "passwd", Typeflag: tar.TypeLink, Linkname: "../../../../etc/passwd"}},
	} {
		dir := t.TempDir()
		err := untar(layer(entries...), dir)
		if left, _ := os.ReadDir(outside); len(left) > 0 {
			t.Fatalf("%s: the layer wrote %s outside its directory (err %v)", name, left[0].Name(), err)
		}
		if name == "a path climbing out" && err != nil {
			t.Errorf("%s: a name is cleaned to the layer's root, not refused: %v", name, err)
		}
		if st, err := os.Stat(filepath.Join(dir, "passwd")); err == nil && st.Size() > 0 {
			t.Fatalf("%s: a host file was linked into the layer", name)
		}
	}
	dir := t.TempDir()
	if err := untar(layer(tar.Header{Name: "srv/", Typeflag: tar.TypeDir}, tar.Header{Name: "srv/.wh.gone", Typeflag: tar.TypeReg},
		tar.Header{Name: "srv/.wh..wh..opq", Typeflag: tar.TypeReg}), dir); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(dir, "srv", "gone"), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
		t.Errorf("a deleted file is not a 0/0 character device: %v %+v", err, st)
	}
	v := make([]byte, 8)
	if n, err := unix.Getxattr(filepath.Join(dir, "srv"), "trusted.overlay.opaque", v); err != nil || string(v[:n]) != "y" {
		t.Errorf("an opaque directory lacks trusted.overlay.opaque: %v", err)
	}
}

func mustLayers(t *testing.T, img v1.Image) []v1.Layer {
	l, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestInvokeFailsLikeLambda(t *testing.T) {
	requireRunc(t)
	s := start(t, Options{UpdateDelay: 20 * time.Millisecond})
	c := pythonFunction(t, s, "slow", pythonApp, 128, 1)
	out, tail := invoke(t, c, "slow", `{"sleep": 5}`)
	if aws.ToString(out.FunctionError) != "Unhandled" || !strings.Contains(string(out.Payload), "Task timed out after 1.00 seconds") || !strings.Contains(tail, "Task timed out after 1.00 seconds") {
		t.Errorf("a timeout: %s\n%s", out.Payload, tail)
	}
	out, tail = invoke(t, c, "slow", `{"eat": 400}`)
	if aws.ToString(out.FunctionError) != "Unhandled" || !strings.Contains(string(out.Payload), "Runtime exited with error: signal: killed") || !strings.Contains(tail, "Runtime.ExitError") {
		t.Errorf("out of memory: %s\n%s", out.Payload, tail)
	}
	c = pythonFunction(t, s, "broken", "import yaml\n\ndef handler(event, context):\n    return {}\n", 128, 5)
	out, tail = invoke(t, c, "broken", `{}`)
	if aws.ToString(out.FunctionError) != "Unhandled" || !strings.Contains(string(out.Payload), `"errorType": "Runtime.ImportModuleError"`) ||
		!strings.Contains(tail, "[ERROR] Runtime.ImportModuleError: Unable to import module 'app': No module named 'yaml'") {
		t.Errorf("an import error: %s\n%s", out.Payload, tail)
	}
	c = pythonFunction(t, s, "nohandler", "def other(event, context):\n    return {}\n", 128, 5)
	out, _ = invoke(t, c, "nohandler", `{}`)
	if !strings.Contains(string(out.Payload), "Runtime.HandlerNotFound") {
		t.Errorf("a missing handler: %s", out.Payload)
	}
	// A timeout, running out of memory and an init error each end their container.
	requireNoLeaks(t, s)
}

func TestConcurrentInvocationsGetTheirOwnContainersAndIDs(t *testing.T) {
	requireRunc(t)
	s := start(t, Options{UpdateDelay: 20 * time.Millisecond, IdleTimeout: 500 * time.Millisecond})
	c := pythonFunction(t, s, "many", pythonApp, 128, 20)
	var wg sync.WaitGroup
	ids := make(chan string, 10)
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, _ := invoke(t, c, "many", `{"sleep": 0.2}`)
			var resp struct{ Body string }
			json.Unmarshal(out.Payload, &resp)
			var body struct{ Request string }
			json.Unmarshal([]byte(resp.Body), &body)
			ids <- body.Request
		}()
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		if id == "" || seen[id] {
			t.Fatalf("request ids must be unique and present: %v", seen)
		}
		seen[id] = true
	}
	s.lambda.runtime.mu.Lock()
	peak, started := s.lambda.runtime.peak, len(s.lambda.runtime.started)
	s.lambda.runtime.mu.Unlock()
	if peak < 2 {
		t.Fatalf("ten concurrent invocations ran in at most %d container at once", peak)
	}
	// One log stream per container, each named like Lambda's.
	streams, err := cloudwatchlogs.NewFromConfig(cfg(s)).DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("/aws/lambda/many")})
	if err != nil || len(streams.LogStreams) != started {
		t.Fatalf("%d containers started, log streams: %v %+v", started, err, streams)
	}
	for _, st := range streams.LogStreams {
		if !regexp.MustCompile(`^\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}$`).MatchString(*st.LogStreamName) {
			t.Errorf("log stream %q is not named like Lambda's", *st.LogStreamName)
		}
	}
	// Idle containers stop by themselves, leaving no mount behind.
	deadline := time.Now().Add(5 * time.Second)
	for s.lambda.runtime.Running() != 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if n := s.lambda.runtime.Running(); n != 0 {
		t.Fatalf("%d containers still running after the idle timeout", n)
	}
	requireNoLeaks(t, s)
}

// goFunction builds testfunction for an architecture into a FROM scratch
// image with buildkitd, pushes it with an ECR token, and creates a function.
func goFunction(t *testing.T, s *Server, addr, name, goarch, lambdaArch string) *lambda.Client {
	t.Helper()
	dir := t.TempDir()
	build := exec.Command("go", "build", "-trimpath", "-o", dir+"/bootstrap", "./testfunction")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	os.WriteFile(dir+"/Dockerfile", []byte("FROM scratch\nCOPY bootstrap /bootstrap\nENV IMAGE_STAGE=built\nWORKDIR /var/task\n"+
		"ENTRYPOINT [\"/bootstrap\"]\nCMD [\"gofn.handler\"]\n"), 0o644)
	ecr.NewFromConfig(cfg(s)).CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(name)})
	basic := login(t, s).(*authn.Basic)
	dockerConfig := t.TempDir()
	os.WriteFile(dockerConfig+"/config.json", []byte(`{"auths": {"`+s.RegistryHost()+`": {"auth": "`+
		base64.StdEncoding.EncodeToString([]byte(basic.Username+":"+basic.Password))+`"}}}`), 0o600)
	cmd := exec.Command(testenv.Tool(t, "buildctl"), "--addr", addr, "build", "--frontend", "dockerfile.v0",
		"--local", "context="+dir, "--local", "dockerfile="+dir, "--opt", "platform=linux/"+goarch,
		"--output", "type=image,name="+s.RegistryHost()+"/"+name+":v1,push=true")
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+dockerConfig)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("buildctl: %v\n%s", err, out)
	}
	c := lambda.NewFromConfig(cfg(s), func(o *lambda.Options) { o.RetryMaxAttempts = 1 })
	if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String(name), PackageType: types.PackageTypeImage,
		Role: aws.String("arn:aws:iam::123456789012:role/r"), Code: &types.FunctionCode{ImageUri: aws.String(s.RegistryHost() + "/" + name + ":v1")},
		Architectures: []types.Architecture{types.Architecture(lambdaArch)}, Publish: true}); err != nil {
		t.Fatal(err)
	}
	if err := lambda.NewFunctionActiveV2Waiter(c, func(o *lambda.FunctionActiveV2WaiterOptions) { o.MinDelay = 20 * time.Millisecond }).
		Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)}, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestAWSLambdaGoRunsUnchanged runs a function built on aws-lambda-go, AWS's
// runtime client, by version and by alias; and the same function built for
// arm64 on this x86_64 machine fails as Lambda does.
func TestAWSLambdaGoRunsUnchanged(t *testing.T) {
	requireRunc(t)
	addr := testenv.Buildkitd(t)
	s := start(t, Options{UpdateDelay: 20 * time.Millisecond})
	c := goFunction(t, s, addr, "gofn", "amd64", "x86_64")
	c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("gofn"), Name: aws.String("live"), FunctionVersion: aws.String("1")})
	for _, qualifier := range []string{"1", "live"} {
		out, err := c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("gofn"), Qualifier: aws.String(qualifier), Payload: []byte(`{"name": "gopher"}`)})
		if err != nil {
			t.Fatal(err)
		}
		var r struct{ Hello, RequestID, Function, InvokedArn, Memory, TraceID, Region, Version, Handler, Dir, ImageStage string }
		json.Unmarshal(out.Payload, &r)
		if out.FunctionError != nil || r.Hello != "gopher" || r.RequestID == "" || r.Function != "gofn" || r.Memory != "128" || *out.ExecutedVersion != "1" {
			t.Fatalf("qualifier %s: %s %v", qualifier, out.Payload, out.FunctionError)
		}
		if r.Region != s.Region() || r.Version != "1" || r.Handler != "gofn.handler" || r.Dir != "/var/task" || r.ImageStage != "built" {
			t.Fatalf("qualifier %s: the function's environment (region, version, handler, working directory, image ENV): %s", qualifier, out.Payload)
		}
		if want := "arn:aws:lambda:" + s.Region() + ":" + s.Account() + ":function:gofn:" + qualifier; r.InvokedArn != want || !strings.HasPrefix(r.TraceID, "Root=1-") {
			t.Fatalf("qualifier %s: the function saw ARN %q (want %q) and trace id %q", qualifier, r.InvokedArn, want, r.TraceID)
		}
	}
	out, _ := invoke(t, c, "gofn", `{"fail": true}`)
	if aws.ToString(out.FunctionError) != "Unhandled" || !strings.Contains(string(out.Payload), "asked to fail") {
		t.Fatalf("an error returned through aws-lambda-go: %s", out.Payload)
	}

	arm := goFunction(t, s, addr, "gofn-arm", "arm64", "arm64")
	out, tail := invoke(t, arm, "gofn-arm", `{}`)
	if aws.ToString(out.FunctionError) != "Unhandled" || !strings.Contains(string(out.Payload), "Runtime.InvalidEntrypoint") ||
		!strings.Contains(string(out.Payload), "exec format error") || !strings.Contains(tail, "exec format error") {
		t.Fatalf("an arm64 image on this x86_64 machine: %s\n%s", out.Payload, tail)
	}
}

// fastAPIApp is a FastAPI app behind a small ASGI adapter that turns an API
// Gateway HTTP API (v2) event into an ASGI request, as mangum does.
const fastAPIApp = `
import asyncio, json
from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()

class Order(BaseModel):
    item: str
    quantity: int

@app.get("/health")
def health():
    return {"status": "ok"}

@app.post("/orders")
def create(order: Order):
    return {"item": order.item, "total": order.quantity * 2}

def handler(event, context):
    http = event["requestContext"]["http"]
    body = (event.get("body") or "").encode()
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": http["method"],
             "path": event["rawPath"], "raw_path": event["rawPath"].encode(), "query_string": event.get("rawQueryString", "").encode(),
             "headers": [(k.lower().encode(), v.encode()) for k, v in (event.get("headers") or {}).items()],
             "scheme": "https", "server": ("localhost", 443), "client": ("127.0.0.1", 0), "root_path": ""}
    sent, out = [False], {"status": 500, "headers": [], "body": b""}
    async def receive():
        if sent[0]:
            return {"type": "http.disconnect"}
        sent[0] = True
        return {"type": "http.request", "body": body, "more_body": False}
    async def send(message):
        if message["type"] == "http.response.start":
            out["status"], out["headers"] = message["status"], message.get("headers", [])
        elif message["type"] == "http.response.body":
            out["body"] += message.get("body", b"")
    asyncio.run(app(scope, receive, send))
    return {"statusCode": out["status"], "headers": {k.decode(): v.decode() for k, v in out["headers"]}, "body": out["body"].decode()}
`

func TestFastAPIRunsOnTheStandInBase(t *testing.T) {
	requireRunc(t)
	s := start(t, Options{UpdateDelay: 20 * time.Millisecond})
	c, _ := pipFunction(t, s, testenv.Buildkitd(t), "api", map[string]string{"app.py": fastAPIApp, "requirements.txt": "fastapi\n"})
	event := func(method, path, body string) string {
		return `{"version": "2.0", "rawPath": "` + path + `", "rawQueryString": "", "headers": {"content-type": "application/json"},
			"requestContext": {"http": {"method": "` + method + `", "path": "` + path + `"}}, "body": ` + strconvQuote(body) + `, "isBase64Encoded": false}`
	}
	for _, tc := range []struct{ method, path, body, want string }{
		{"GET", "/health", "", `{"status":"ok"}`},
		{"POST", "/orders", `{"item": "tea", "quantity": 3}`, `{"item":"tea","total":6}`},
	} {
		out, tail := invoke(t, c, "api", event(tc.method, tc.path, tc.body))
		var resp struct {
			StatusCode int
			Body       string
		}
		json.Unmarshal(out.Payload, &resp)
		if resp.StatusCode != 200 || resp.Body != tc.want {
			t.Fatalf("%s %s: %s\n%s", tc.method, tc.path, out.Payload, tail)
		}
	}
	out, _ := invoke(t, c, "api", event("POST", "/orders", `{"item": "tea"}`))
	if !strings.Contains(string(out.Payload), `"statusCode": 422`) {
		t.Fatalf("validation by pydantic: %s", out.Payload)
	}
}

func strconvQuote(s string) string { b, _ := json.Marshal(s); return string(b) }

// TestAPythonImageForTheOtherArchitectureFails runs a Python image built
// for arm64 (its shell and interpreter are arm64 programs) on this x86_64
// machine: the runtime cannot even start, as on Lambda.
func TestAPythonImageForTheOtherArchitectureFails(t *testing.T) {
	requireRunc(t)
	s := start(t, Options{UpdateDelay: 20 * time.Millisecond})
	dir := t.TempDir()
	build := exec.Command("go", "build", "-trimpath", "-o", dir+"/arm64", "./testfunction")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	arm64, err := os.ReadFile(dir + "/arm64")
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(testenv.PythonBase(t), fileLayer(t, map[string]string{
		"var/task/app.py": pythonApp, "usr/bin/dash": string(arm64), "usr/bin/python3.11": string(arm64)}))
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := img.ConfigFile()
	cf.Config.Cmd, cf.Architecture = []string{"app.handler"}, "arm64"
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	ecr.NewFromConfig(cfg(s)).CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("py-arm")})
	if err := push(s, "py-arm", "v1", img, login(t, s)); err != nil {
		t.Fatal(err)
	}
	c := lambda.NewFromConfig(cfg(s), func(o *lambda.Options) { o.RetryMaxAttempts = 1 })
	if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("py-arm"), PackageType: types.PackageTypeImage,
		Role: aws.String("arn:aws:iam::123456789012:role/r"), Code: &types.FunctionCode{ImageUri: aws.String(s.RegistryHost() + "/py-arm:v1")},
		Architectures: []types.Architecture{types.ArchitectureArm64}}); err != nil {
		t.Fatal(err)
	}
	if err := lambda.NewFunctionActiveV2Waiter(c, func(o *lambda.FunctionActiveV2WaiterOptions) { o.MinDelay = 20 * time.Millisecond }).
		Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("py-arm")}, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	out, tail := invoke(t, c, "py-arm", `{}`)
	if aws.ToString(out.FunctionError) != "Unhandled" || !strings.Contains(string(out.Payload), "Runtime.InvalidEntrypoint") ||
		!strings.Contains(string(out.Payload), "exec format error") || !strings.Contains(tail, "exec format error") {
		t.Fatalf("an arm64 Python image on this x86_64 machine: %s\n%s", out.Payload, tail)
	}
	requireNoLeaks(t, s)
}
