package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

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

func TestLocalAWSStopsCleanlyOnSIGTERM(t *testing.T) {
	bin := buildCLI(t)
	cmd, endpoint := serve(t, bin, t.TempDir())
	if code, err := createRepository(endpoint, "api"); err != nil || code != 200 {
		t.Fatalf("CreateRepository: %d %v", code, err)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("SIGTERM must give a clean exit: %v", err)
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
