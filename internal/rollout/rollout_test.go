package rollout

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/lambdacontainer/pulumi-lambdacontainer/localaws"
)

func TestWindowKeepsTheNewestAndWhatAliasesRouteTo(t *testing.T) {
	r := References{Latest: "sha256:l", Aliases: map[string]int{"live": 2}, Weighted: []int{3},
		Versions: []Version{{1, "sha256:a"}, {2, "sha256:b"}, {3, "sha256:c"}, {4, "sha256:d"}, {5, "sha256:e"}, {6, "sha256:f"}}}
	kept, stale := r.Window(2)
	numbers := func(vs []Version) (out []int) {
		for _, v := range vs {
			out = append(out, v.Number)
		}
		return out
	}
	if !slices.Equal(numbers(kept), []int{2, 3, 5, 6}) || !slices.Equal(numbers(stale), []int{1, 4}) {
		t.Fatalf("kept %v, stale %v", numbers(kept), numbers(stale))
	}
	use := r.InUse(kept)
	if len(use) != 5 || !use["sha256:l"] || use["sha256:a"] || use["sha256:d"] {
		t.Fatalf("in use: %v", use)
	}
}

func TestUnqualified(t *testing.T) {
	for in, want := range map[string]string{
		"arn:aws:lambda:us-east-1:123456789012:function:api":      "arn:aws:lambda:us-east-1:123456789012:function:api",
		"arn:aws:lambda:us-east-1:123456789012:function:api:live": "arn:aws:lambda:us-east-1:123456789012:function:api",
		"arn:aws:lambda:us-east-1:123456789012:function:api:7":    "arn:aws:lambda:us-east-1:123456789012:function:api",
	} {
		if got := unqualified(in); got != want {
			t.Errorf("unqualified(%s) = %s", in, got)
		}
	}
}

// bench is a localaws with the image repository "api" holding two images,
// and a rollout client on it.
type bench struct {
	aws    *localaws.Server
	client *Client
	lambda *lambda.Client
	uri    string   // the repository's URI
	images []string // repo@sha256:... of the two images
	said   []string // what the client reported
}

func newBench(t *testing.T, opts localaws.Options) *bench {
	t.Helper()
	opts.Log = log.New(io.Discard, "", 0)
	s, err := localaws.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	cfg := aws.Config{Region: s.Region(), BaseEndpoint: aws.String(s.Endpoint()), Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")}
	repos := ecr.NewFromConfig(cfg)
	if _, err := repos.CreateRepository(context.Background(), &ecr.CreateRepositoryInput{RepositoryName: aws.String("api")}); err != nil {
		t.Fatal(err)
	}
	token, err := repos.GetAuthorizationToken(context.Background(), &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(aws.ToString(token.AuthorizationData[0].AuthorizationToken))
	user, password, _ := strings.Cut(string(raw), ":")
	b := &bench{aws: s, lambda: lambda.NewFromConfig(cfg), uri: s.RegistryHost() + "/api"}
	b.client = &Client{API: b.lambda, Progress: func(s string) { b.said = append(b.said, s) }}
	for i := range 2 {
		img, err := random.Image(256, 1)
		if err != nil {
			t.Fatal(err)
		}
		cf, _ := img.ConfigFile()
		cf.Architecture, cf.OS = "amd64", "linux"
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			t.Fatal(err)
		}
		ref, _ := name.ParseReference(fmt.Sprintf("%s:v%d", b.uri, i+1))
		if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: user, Password: password})); err != nil {
			t.Fatal(err)
		}
		digest, _ := img.Digest()
		b.images = append(b.images, b.uri+"@"+digest.String())
	}
	return b
}

// Publish waits for a version that is Pending (Lambda optimizing it) to
// become Active.
func TestPublishWaitsForThePendingVersion(t *testing.T) {
	b := newBench(t, localaws.Options{UpdateDelay: 50 * time.Millisecond, PublishDelay: 1500 * time.Millisecond})
	ctx := context.Background()
	fn, err := b.client.Create(ctx, "api", b.images[0], Settings{Role: "arn:aws:iam::123456789012:role/api"})
	if err != nil {
		t.Fatal(err)
	}
	version, err := b.client.Publish(ctx, fn, "v1")
	if err != nil || version != "1" {
		t.Fatalf("Publish: %q %v", version, err)
	}
	got, err := b.lambda.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("api"), Qualifier: &version})
	if err != nil || got.State != types.StateActive {
		t.Fatalf("Publish returned before version 1 was Active: %v %+v", err, got)
	}
	if !slices.Contains(b.said, "waiting for version 1 of api to become Active") || b.aws.Calls().Calls["lambda:GetFunctionConfiguration"] == 0 {
		t.Fatalf("Publish did not wait for the Pending version: %q, %v", b.said, b.aws.Calls().Calls)
	}

}

// Point updates the code by digest, never by tag, guarded by the RevisionId
// the function was read with: a change in between, out of band, is refused
// with a clear error, not overwritten.
func TestPointSendsTheDigestAndTheRevisionID(t *testing.T) {
	b := newBench(t, localaws.Options{UpdateDelay: 50 * time.Millisecond})
	ctx := context.Background()
	if _, err := b.client.Create(ctx, "api", b.images[0], Settings{Role: "arn:aws:iam::123456789012:role/api"}); err != nil {
		t.Fatal(err)
	}
	fn, err := b.client.Find(ctx, "api")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.client.Point(ctx, fn, b.uri+":v2"); err == nil || !strings.Contains(err.Error(), "by digest") {
		t.Fatalf("pointing at a tag: %v", err)
	}
	moved, err := b.client.Point(ctx, fn, b.images[1])
	if err != nil || moved.ResolvedImageURI != b.images[1] {
		t.Fatalf("Point: %v %+v", err, moved)
	}
	sent := b.aws.Requests("lambda:UpdateFunctionCode")
	var req struct{ ImageUri, RevisionId string }
	if len(sent) != 1 || json.Unmarshal(sent[0], &req) != nil || req.ImageUri != b.images[1] || req.RevisionId != fn.RevisionID || req.RevisionId == "" {
		t.Fatalf("the UpdateFunctionCode request: %s (the function's RevisionId was %s)", sent, fn.RevisionID)
	}

	// Out of band, between the read and the update: the RevisionId moved.
	if _, err := b.lambda.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("api"), ImageUri: &b.images[0]}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.client.Find(ctx, "api"); err != nil { // it settled (the SDK's own retryer does not retry Lambda's 409s)
		t.Fatal(err)
	}
	_, err = b.client.Point(ctx, moved, b.images[1])
	if err == nil || !strings.Contains(err.Error(), "function api changed while this deployment was updating it (its RevisionId moved)") ||
		!strings.Contains(err.Error(), "PreconditionFailedException") {
		t.Fatalf("an update with a stale RevisionId: %v", err)
	}
	if now, err := b.client.Find(ctx, "api"); err != nil || now.ResolvedImageURI != b.images[0] {
		t.Fatalf("the out-of-band change was overwritten: %+v %v", now, err)
	}
}

func addFault(s *localaws.Server, rule string) error {
	resp, err := http.Post(s.Endpoint()+"/_localaws/faults", "application/json", strings.NewReader(rule))
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("adding a fault: %s", resp.Status)
	}
	return err
}
