package localaws

import (
	"context"
	"encoding/base64"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/google/go-containerregistry/pkg/authn"
)

var ctx = context.Background()

// start runs a localaws for one test.
func start(t testing.TB, opts Options) *Server {
	t.Helper()
	opts.Log = quietLogger()
	s, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		if left := mountsUnder(s.lambda.runtime.dir); len(left) > 0 {
			t.Errorf("image roots still mounted after Close: %v", left)
		}
	})
	return s
}

// mountsUnder lists the mount points below dir.
func mountsUnder(dir string) []string {
	data, _ := os.ReadFile("/proc/self/mountinfo")
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 4 && strings.HasPrefix(unescapeMountPoint(f[4]), dir+"/") {
			out = append(out, f[4])
		}
	}
	return out
}

// cfg is an AWS SDK configuration pointed at s, as a user's would be.
func cfg(s *Server) aws.Config {
	return aws.Config{
		Region:       s.Region(),
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
		BaseEndpoint: aws.String(s.Endpoint()),
	}
}

// login mints a registry credential through ECR, as `aws ecr get-login-password` does.
func login(t testing.TB, s *Server) authn.Authenticator {
	t.Helper()
	out, err := ecr.NewFromConfig(cfg(s)).GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(*out.AuthorizationData[0].AuthorizationToken)
	if err != nil {
		t.Fatal(err)
	}
	user, password, _ := strings.Cut(string(raw), ":")
	return &authn.Basic{Username: user, Password: password}
}
