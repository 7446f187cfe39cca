package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/lambdacontainer/pulumi-lambdacontainer/internal/testenv"
)

var ctx = context.Background()

// buildCLI builds this command once per test.
func buildCLI(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "lambdacontainer")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// serve starts `lambdacontainer localaws` and returns it with its endpoint.
func serve(t *testing.T, bin, dir string, extra ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"localaws", "--addr", freeAddr(t), "--registry-addr", freeAddr(t), "--dir", dir}, extra...)...)
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		if m := regexp.MustCompile(`export AWS_ENDPOINT_URL=(\S+)`).FindStringSubmatch(lines.Text()); m != nil {
			go func() {
				for lines.Scan() {
				}
			}()
			return cmd, m[1]
		}
	}
	t.Fatalf("localaws printed no AWS_ENDPOINT_URL")
	return nil, ""
}

func createRepository(endpoint, name string) (int, error) {
	req, _ := http.NewRequest(http.MethodPost, endpoint+"/", strings.NewReader(fmt.Sprintf(`{"repositoryName": %q}`, name)))
	req.Header.Set("X-Amz-Target", "AmazonEC2ContainerRegistry_V20150921.CreateRepository")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// TestLocalAWSStopsCleanlyOnSIGTERM stops localaws while a warm function
// container runs: it exits cleanly, and takes the container with it.
func TestLocalAWSStopsCleanlyOnSIGTERM(t *testing.T) {
	bin := buildCLI(t)
	dir := t.TempDir()
	cmd, endpoint := serve(t, bin, dir)
	if code, err := createRepository(endpoint, "api"); err != nil || code != 200 {
		t.Fatalf("CreateRepository: %d %v", code, err)
	}
	warm := warmContainer(t, endpoint, dir)
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("SIGTERM must give a clean exit: %v", err)
	}
	requireGone(t, dir, warm)
}

// TestLocalAWSCleansUpAfterSIGKILL kills localaws while a warm function
// container runs; started again on the same state, it leaves nothing of it:
// no container runc knows, no bundle, no cgroup, no process, no mount.
func TestLocalAWSCleansUpAfterSIGKILL(t *testing.T) {
	bin := buildCLI(t)
	dir := t.TempDir()
	cmd, endpoint := serve(t, bin, dir)
	warm := warmContainer(t, endpoint, dir)
	if mounts, _ := os.ReadFile("/proc/self/mountinfo"); !strings.Contains(string(mounts), " "+filepath.Join(dir, "runtime", "rootfs")+"/") {
		t.Fatal("the warm container's image root is not mounted: the check after the restart would prove nothing")
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	serve(t, bin, dir)
	requireGone(t, dir, warm)
}

// TestLocalAWSFlags starts localaws with an account, a region, stacks and
// delays of its own, and finds them in what the AWS APIs answer.
func TestLocalAWSFlags(t *testing.T) {
	stacks := filepath.Join(t.TempDir(), "stacks.json")
	os.WriteFile(stacks, []byte(`[{"name": "orders", "outputs": {"ApiFunction": "orders-api"}}]`), 0o644)
	_, endpoint := serve(t, buildCLI(t), t.TempDir(), "--account", "210987654321", "--region", "eu-west-3", "--stacks", stacks,
		"--update-delay", "10ms", "--publish-delay", "1h")
	cfg := sdkConfig(endpoint, "eu-west-3")
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || *id.Account != "210987654321" || !strings.HasPrefix(*id.Arn, "arn:aws:iam::210987654321:") {
		t.Fatalf("GetCallerIdentity: %v %+v", err, id)
	}
	out, err := cloudformation.NewFromConfig(cfg).DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("orders")})
	if err != nil || len(out.Stacks) != 1 || *out.Stacks[0].Outputs[0].OutputValue != "orders-api" ||
		!strings.HasPrefix(*out.Stacks[0].StackId, "arn:aws:cloudformation:eu-west-3:210987654321:stack/orders/") {
		t.Fatalf("DescribeStacks: %v %+v", err, out)
	}

	img, _ := random.Image(256, 1)
	functions := lambda.NewFromConfig(cfg)
	created, err := functions.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("fn"), PackageType: lambdatypes.PackageTypeImage,
		Role: aws.String("arn:aws:iam::210987654321:role/r"), Code: &lambdatypes.FunctionCode{ImageUri: aws.String(pushTo(t, endpoint, "fn", img))}})
	if err != nil || *created.FunctionArn != "arn:aws:lambda:eu-west-3:210987654321:function:fn" {
		t.Fatalf("CreateFunction: %v %+v", err, created)
	}
	if err := lambda.NewFunctionActiveV2Waiter(functions, func(o *lambda.FunctionActiveV2WaiterOptions) { o.MinDelay = 10 * time.Millisecond }).
		Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("fn")}, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if v, err := functions.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("fn")}); err != nil || v.State != lambdatypes.StatePending {
		t.Fatalf("a version published with --publish-delay 1h: %v %+v", err, v)
	}
}

// sdkConfig points the AWS SDK at a localaws endpoint.
func sdkConfig(endpoint, region string) aws.Config {
	return aws.Config{Region: region, BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")}
}

// pushTo pushes an image to repository:v1 of the localaws at endpoint, as
// a user would, with an ECR token, and returns its URI.
func pushTo(t *testing.T, endpoint, repository string, img v1.Image) string {
	t.Helper()
	resp, err := http.Get(endpoint + "/_localaws/health")
	if err != nil {
		t.Fatal(err)
	}
	var health struct{ Registry string }
	json.NewDecoder(resp.Body).Decode(&health)
	resp.Body.Close()
	registries := ecr.NewFromConfig(sdkConfig(endpoint, "us-east-1"))
	registries.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(repository)})
	tok, err := registries.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(*tok.AuthorizationData[0].AuthorizationToken)
	user, password, _ := strings.Cut(string(raw), ":")
	ref, _ := name.NewTag(health.Registry+"/"+repository+":v1", name.Insecure)
	if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: user, Password: password})); err != nil {
		t.Fatal(err)
	}
	return ref.String()
}

// proc is a process, told apart from a later one with its pid by its start time.
type proc struct {
	pid   int
	start string
}

// stat reads a process's state and start time from /proc.
func stat(pid int) (state, start string, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", "", false
	}
	fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:])) // after the command name
	return fields[0], fields[19], true
}

// alive says the process still runs: it exists, is the same one, and is not a zombie.
func (p proc) alive() bool {
	state, start, ok := stat(p.pid)
	return ok && start == p.start && state != "Z"
}

// warm is what a warm function container runs as.
type warm struct {
	ids   []string
	procs []proc // runc's and the container's processes
}

func runcRoot(dir string) string { return filepath.Join(dir, "runtime", "runc") }

// warmContainer pushes a Python function on the stand-in base to the
// localaws at endpoint and invokes it, so that a warm container runs.
func warmContainer(t *testing.T, endpoint, dir string) warm {
	t.Helper()
	if _, err := exec.LookPath("runc"); err != nil {
		t.Fatal("running functions needs runc: run scripts/bootstrap.sh")
	}
	var app bytes.Buffer
	tw := tar.NewWriter(&app)
	code := "def handler(event, context):\n    return {'ok': True}\n"
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "var/task/app.py", Mode: 0o644, Size: int64(len(code))})
	tw.Write([]byte(code))
	tw.Close()
	layer, err := tarball.LayerFromReader(&app)
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(testenv.PythonBase(t), layer)
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := img.ConfigFile()
	cf.Config.Cmd = []string{"app.handler"}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	functions := lambda.NewFromConfig(sdkConfig(endpoint, "us-east-1"))
	if _, err := functions.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("py"), PackageType: lambdatypes.PackageTypeImage,
		Role: aws.String("arn:aws:iam::123456789012:role/r"), Code: &lambdatypes.FunctionCode{ImageUri: aws.String(pushTo(t, endpoint, "py", img))}}); err != nil {
		t.Fatal(err)
	}
	if err := lambda.NewFunctionActiveV2Waiter(functions, func(o *lambda.FunctionActiveV2WaiterOptions) { o.MinDelay = 50 * time.Millisecond }).
		Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("py")}, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	out, err := functions.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("py")})
	if err != nil || out.FunctionError != nil || string(out.Payload) != `{"ok": true}` {
		t.Fatalf("Invoke: %v %s", err, out.Payload)
	}

	list, err := exec.Command("runc", "--root", runcRoot(dir), "list", "-q").Output()
	var w warm
	if w.ids = strings.Fields(string(list)); err != nil || len(w.ids) != 1 {
		t.Fatalf("one warm container, runc says: %v %q", err, list)
	}
	id := w.ids[0]
	groups, _ := filepath.Glob("/sys/fs/cgroup/*/localaws/" + id + "/cgroup.procs")
	groups = append(groups, "/sys/fs/cgroup/localaws/"+id+"/cgroup.procs")
	pids := map[int]bool{}
	for _, g := range groups {
		b, _ := os.ReadFile(g)
		for _, f := range strings.Fields(string(b)) {
			pid, _ := strconv.Atoi(f)
			pids[pid] = true
		}
	}
	all, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, f := range all {
		if b, _ := os.ReadFile(f); bytes.Contains(b, []byte("runc\x00")) && bytes.HasSuffix(b, []byte("\x00"+id+"\x00")) {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(f)))
			pids[pid] = true // runc run
		}
	}
	for pid := range pids {
		if _, start, ok := stat(pid); ok {
			w.procs = append(w.procs, proc{pid, start})
		}
	}
	if len(w.procs) < 2 {
		t.Fatalf("the warm container %s runs as %v, want runc and the function", id, w.procs)
	}
	return w
}

// requireGone checks that nothing of a warm container is left: runc knows
// no container, and no bundle, cgroup or process of it is left.
func requireGone(t *testing.T, dir string, w warm) {
	t.Helper()
	if out, err := exec.Command("runc", "--root", runcRoot(dir), "list", "-q").Output(); err != nil || strings.TrimSpace(string(out)) != "" {
		t.Errorf("runc still knows containers: %v %q", err, out)
	}
	if bundles, _ := os.ReadDir(filepath.Join(dir, "runtime", "bundles")); len(bundles) != 0 {
		t.Errorf("%d container bundles left", len(bundles))
	}
	if mounts, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(mounts), " "+filepath.Join(dir, "runtime", "rootfs")+"/") {
		t.Errorf("an image root is still mounted under %s", dir)
	}
	for _, id := range w.ids {
		groups, _ := filepath.Glob("/sys/fs/cgroup/*/localaws/" + id)
		if _, err := os.Stat("/sys/fs/cgroup/localaws/" + id); err == nil {
			groups = append(groups, "/sys/fs/cgroup/localaws/"+id)
		}
		if len(groups) > 0 {
			t.Errorf("container %s left its cgroups: %v", id, groups)
		}
	}
	for _, p := range w.procs { // a killed process may take a moment to go
		for deadline := time.Now().Add(20 * time.Second); p.alive() && time.Now().Before(deadline); {
			time.Sleep(50 * time.Millisecond)
		}
		if p.alive() {
			t.Errorf("process %d of the container is still running", p.pid)
		}
	}
}

// TestStateSurvivesKill9MidWrite kills localaws while it writes its state,
// many times over, and checks that it always starts again with whole state.
func TestStateSurvivesKill9MidWrite(t *testing.T) {
	bin := buildCLI(t)
	dir := t.TempDir()
	created := 0
	for round := range 5 {
		cmd, endpoint := serve(t, bin, dir)
		var wg sync.WaitGroup
		var mu sync.Mutex
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					code, err := createRepository(endpoint, fmt.Sprintf("r%d-%d-%d", round, w, i))
					if err != nil {
						return // killed
					}
					if code == 200 {
						mu.Lock()
						created++
						mu.Unlock()
					}
				}
			}()
		}
		time.Sleep(150 * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		wg.Wait()
	}
	_, endpoint := serve(t, bin, dir)
	req, _ := http.NewRequest(http.MethodPost, endpoint+"/", strings.NewReader(`{"maxResults": 1000}`))
	req.Header.Set("X-Amz-Target", "AmazonEC2ContainerRegistry_V20150921.DescribeRepositories")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("after 5 kills: %v %v", err, resp)
	}
	var out struct {
		Repositories []struct{ RepositoryName string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if created == 0 || len(out.Repositories) < created {
		t.Fatalf("%d repositories acknowledged, %d kept", created, len(out.Repositories))
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, ".tmp-*")); len(leftovers) > 0 {
		t.Fatalf("temporary files from killed writes were not cleaned up: %v", leftovers)
	}
	t.Logf("%d repositories acknowledged and %d kept across 5 kill -9s", created, len(out.Repositories))
}

// TestImportPreloadsAnOCILayout starts localaws with --import and finds the
// image in ECR under the name given.
func TestImportPreloadsAnOCILayout(t *testing.T) {
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "layout")
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	_, endpoint := serve(t, buildCLI(t), t.TempDir(), "--import", dir+"=lambda/python:3.11")
	req, _ := http.NewRequest(http.MethodPost, endpoint+"/", strings.NewReader(`{"repositoryName": "lambda/python"}`))
	req.Header.Set("X-Amz-Target", "AmazonEC2ContainerRegistry_V20150921.DescribeImages")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("DescribeImages: %v %v", err, resp)
	}
	var out struct {
		ImageDetails []struct {
			ImageDigest string
			ImageTags   []string
		}
	}
	json.NewDecoder(resp.Body).Decode(&out)
	d, _ := img.Digest()
	if len(out.ImageDetails) != 1 || out.ImageDetails[0].ImageDigest != d.String() || out.ImageDetails[0].ImageTags[0] != "3.11" {
		t.Fatalf("after --import: %+v", out)
	}
}
