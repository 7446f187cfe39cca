package localaws

import (
	"context"
	"encoding/base64"
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
	t.Cleanup(func() { s.Close() })
	return s
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
