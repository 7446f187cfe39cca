package localaws

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/lambdacontainer/pulumi-lambdacontainer/internal/testenv"
)

// awsCLI runs Debian's AWS CLI v2 against s and decodes its JSON output.
func awsCLI(t *testing.T, s *Server, out any, args ...string) string {
	t.Helper()
	cmd := exec.Command(testenv.AWSCLI(t), append(args, "--endpoint-url", s.Endpoint(), "--output", "json")...)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local", "AWS_REGION="+s.Region(),
		"AWS_PAGER=", "HOME="+t.TempDir(), "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	b, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("aws %s: %v\n%s%s", strings.Join(args, " "), err, b, stderr)
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, b)
		}
	}
	return strings.TrimSpace(string(b))
}

func TestAWSCLIDrivesECRLambdaAndLogs(t *testing.T) {
	s := start(t, Options{})
	var repo struct {
		Repository struct{ RepositoryUri string }
	}
	awsCLI(t, s, &repo, "ecr", "create-repository", "--repository-name", "orders-api")
	if repo.Repository.RepositoryUri != s.RegistryHost()+"/orders-api" {
		t.Fatalf("create-repository: %+v", repo)
	}
	password := awsCLI(t, s, nil, "ecr", "get-login-password")
	img, _ := random.Image(1024, 1)
	if err := push(s, "orders-api", "v1", img, &authn.Basic{Username: "AWS", Password: password}); err != nil {
		t.Fatalf("pushing with the password from aws ecr get-login-password: %v", err)
	}
	var images struct {
		ImageDetails []struct{ ImageDigest string }
	}
	awsCLI(t, s, &images, "ecr", "describe-images", "--repository-name", "orders-api")
	if len(images.ImageDetails) != 1 || images.ImageDetails[0].ImageDigest != digestOf(t, img) {
		t.Fatalf("describe-images: %+v", images)
	}

	uri := s.RegistryHost() + "/orders-api:v1"
	awsCLI(t, s, nil, "lambda", "create-function", "--function-name", "orders-api", "--package-type", "Image",
		"--code", "ImageUri="+uri, "--role", "arn:aws:iam::123456789012:role/lambda")
	awsCLI(t, s, nil, "lambda", "wait", "function-active-v2", "--function-name", "orders-api")
	awsCLI(t, s, nil, "lambda", "update-function-code", "--function-name", "orders-api", "--image-uri", uri)
	awsCLI(t, s, nil, "lambda", "wait", "function-updated-v2", "--function-name", "orders-api")
	var version struct{ Version string }
	awsCLI(t, s, &version, "lambda", "publish-version", "--function-name", "orders-api")
	awsCLI(t, s, nil, "lambda", "wait", "published-version-active", "--function-name", "orders-api", "--qualifier", version.Version)
	awsCLI(t, s, nil, "lambda", "create-alias", "--function-name", "orders-api", "--name", "live", "--function-version", version.Version)
	var fn struct {
		Configuration struct{ Version, State string }
		Code          struct{ ResolvedImageUri string }
	}
	awsCLI(t, s, &fn, "lambda", "get-function", "--function-name", "orders-api", "--qualifier", "live")
	if fn.Configuration.Version != "1" || fn.Configuration.State != "Active" || fn.Code.ResolvedImageUri != s.RegistryHost()+"/orders-api@"+digestOf(t, img) {
		t.Fatalf("get-function --qualifier live: %+v", fn)
	}

	awsCLI(t, s, nil, "logs", "create-log-group", "--log-group-name", "/aws/lambda/orders-api")
	awsCLI(t, s, nil, "logs", "create-log-stream", "--log-group-name", "/aws/lambda/orders-api", "--log-stream-name", "s1")
	awsCLI(t, s, nil, "logs", "put-log-events", "--log-group-name", "/aws/lambda/orders-api", "--log-stream-name", "s1",
		"--log-events", `[{"timestamp": 1700000000000, "message": "hello"}, {"timestamp": 1700000000001, "message": "[ERROR] boom"}]`)
	var filtered struct{ Events []struct{ Message string } }
	awsCLI(t, s, &filtered, "logs", "filter-log-events", "--log-group-name", "/aws/lambda/orders-api", "--filter-pattern", "ERROR")
	if len(filtered.Events) != 1 || filtered.Events[0].Message != "[ERROR] boom" {
		t.Fatalf("filter-log-events: %+v", filtered)
	}
	var id struct{ Account string }
	awsCLI(t, s, &id, "sts", "get-caller-identity")
	if id.Account != s.Account() {
		t.Fatalf("get-caller-identity: %+v", id)
	}
}
