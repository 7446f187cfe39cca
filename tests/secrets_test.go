package tests

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestSecretsStayOutOfStateLogsAndLayers deploys a build that reads a
// secret, with the engine's and the provider's logs on, then looks for the
// secret and for every registry token localaws minted in the state file,
// both logs, buildkitd's log, every file the provider wrote, and every layer
// and config of every image pushed.
func TestSecretsStayOutOfStateLogsAndLayers(t *testing.T) {
	ls := newLocalStack(t)
	const secret = "pip-token-7f3e91c0d2b44a58"
	dir := t.TempDir()
	if out, err := exec.Command("cp", "-r", "testdata/secret-backend", filepath.Join(dir, "backend")).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	program := fmt.Sprintf(`name: secrets
runtime: yaml
config:
  pipToken:
    type: string
    secret: true
plugins:
  providers:
    - name: lambdacontainer
      path: %s
resources:
  api:
    type: lambdacontainer:LambdaContainerDeployment
    properties:
      function: secret-api
      functionSettings: {role: "arn:aws:iam::123456789012:role/api"}
      repository: secret-api
      context: ./backend
      buildArgs: {BASE_IMAGE: "%s"}
      secrets:
        pip_token: ${pipToken}
      verify: {http: {path: /}}
`, providerDir, ls.base)
	os.WriteFile(filepath.Join(dir, "Pulumi.yaml"), []byte(program), 0o644)
	state := filepath.Join(dir, ".state")
	os.MkdirAll(state, 0o755)
	pr := &project{t: t, dir: dir, env: append(append(os.Environ(), ls.env...),
		"PULUMI_BACKEND_URL=file://"+state, "PULUMI_HOME="+filepath.Join(dir, ".pulumi-home"), "PULUMI_CONFIG_PASSPHRASE=e2e-passphrase",
		"PULUMI_SKIP_UPDATE_CHECK=true", "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true", "NO_COLOR=1")}
	pr.must("stack", "init", "dev")
	pr.must("config", "set", "--secret", "pipToken", secret)
	logs := pr.must("up", "--yes", "--logtostderr", "--logflow", "-v=9")

	places := map[string]string{"the pulumi up output and logs (engine and provider, -v=9)": logs, "buildkitd's log": ls.bk.Logs()}
	// Every file the provider, the CLI and the state wrote (the state file,
	// the provider's caches, the project), buildkitd's content store,
	// snapshots and caches, and a docker-style credentials file, should
	// anything have written one.
	home, _ := os.UserHomeDir()
	for _, root := range []string{dir, ls.cache, ls.bk.Root(), filepath.Join(home, ".docker")} {
		filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				data, _ := os.ReadFile(path)
				places[path] = string(data)
			}
			return nil
		})
	}
	// Every layer and config of every image pushed.
	c, auth := ls.registry(t)
	repos, _ := c.DescribeRepositories(context.Background(), &awsecr.DescribeRepositoriesInput{})
	layers := 0
	for _, r := range repos.Repositories {
		images, _ := c.DescribeImages(context.Background(), &awsecr.DescribeImagesInput{RepositoryName: r.RepositoryName})
		for _, im := range images.ImageDetails {
			ref, _ := name.NewDigest(aws.ToString(r.RepositoryUri)+"@"+aws.ToString(im.ImageDigest), name.Insecure)
			img, err := remote.Image(ref, auth)
			if err != nil {
				continue // the build cache's manifest is not an image
			}
			cfg, _ := img.RawConfigFile()
			places[ref.String()+" config"] = string(cfg)
			ls, _ := img.Layers()
			for i, l := range ls {
				rc, err := l.Uncompressed()
				if err != nil {
					t.Fatal(err)
				}
				data, _ := io.ReadAll(rc)
				rc.Close()
				places[fmt.Sprintf("%s layer %d", ref, i)] = string(data)
				layers++
			}
		}
	}
	if layers < 2 {
		t.Fatalf("only %d layers were scanned", layers)
	}
	tokens := ls.tokens(t)
	if len(tokens) == 0 {
		t.Fatal("localaws minted no tokens")
	}
	for where, text := range places {
		if strings.Contains(text, secret) {
			t.Errorf("the build secret is in %s", where)
		}
		for _, token := range tokens {
			if strings.Contains(text, token) {
				t.Errorf("a registry token is in %s", where)
			}
		}
	}
	t.Logf("scanned %d places (%d layers) for the secret and %d registry tokens", len(places), layers, len(tokens))
}
