package localaws

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// BenchmarkWarmInvoke measures an Invoke of a warm aws-lambda-go function
// against a raw round trip to localaws (its health endpoint), for B8.
func BenchmarkWarmInvoke(b *testing.B) {
	if _, err := exec.LookPath("runc"); err != nil || os.Geteuid() != 0 {
		b.Fatal("invocations need runc and root")
	}
	dir := b.TempDir()
	build := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(dir, "bootstrap"), "./testfunction")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("%v %s", err, out)
	}
	bin, _ := os.ReadFile(filepath.Join(dir, "bootstrap"))
	s := start(b, Options{UpdateDelay: 1})
	img, _ := mutate.AppendLayers(empty.Image, fileLayer(b, map[string]string{"bootstrap": string(bin)}))
	cf, _ := img.ConfigFile()
	cf.OS, cf.Architecture, cf.Config.Entrypoint = "linux", "amd64", []string{"/bootstrap"}
	img, _ = mutate.ConfigFile(img, cf)
	ecr.NewFromConfig(cfg(s)).CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("gofn")})
	if err := push(s, "gofn", "v1", img, login(b, s)); err != nil {
		b.Fatal(err)
	}
	c := lambda.NewFromConfig(cfg(s))
	if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("gofn"), PackageType: types.PackageTypeImage,
		Role: aws.String("arn:aws:iam::123456789012:role/r"), Code: &types.FunctionCode{ImageUri: aws.String(s.RegistryHost() + "/gofn:v1")}}); err != nil {
		b.Fatal(err)
	}
	lambda.NewFunctionActiveV2Waiter(c).Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("gofn")}, 10e9)
	do := func(method, url, body string) {
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("%s %s: %v %v", method, url, err, resp)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	invoke := s.Endpoint() + "/2015-03-31/functions/gofn/invocations"
	do(http.MethodPost, invoke, `{"name": "cold"}`)
	b.Run("invoke", func(b *testing.B) {
		for b.Loop() {
			do(http.MethodPost, invoke, `{"name": "bench"}`)
		}
	})
	b.Run("raw", func(b *testing.B) {
		for b.Loop() {
			do(http.MethodGet, s.Endpoint()+"/_localaws/health", "")
		}
	})
}
