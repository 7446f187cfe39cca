package localaws

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/lambdacontainer/pulumi-lambdacontainer/internal/testenv"
)

func TestSTSAndCloudFormation(t *testing.T) {
	stacks := filepath.Join(t.TempDir(), "stacks.json")
	os.WriteFile(stacks, []byte(`[{"name": "orders", "outputs": {"ApiFunction": "orders-api", "Other": "x"}}]`), 0o644)
	s := start(t, Options{Stacks: stacks, Account: "210987654321"})
	id, err := sts.NewFromConfig(cfg(s)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || *id.Account != "210987654321" || !strings.HasPrefix(*id.Arn, "arn:aws:iam::210987654321:") {
		t.Fatalf("GetCallerIdentity: %v %+v", err, id)
	}
	cfn := cloudformation.NewFromConfig(cfg(s))
	out, err := cfn.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("orders")})
	if err != nil || len(out.Stacks) != 1 || len(out.Stacks[0].Outputs) != 2 || *out.Stacks[0].Outputs[0].OutputKey != "ApiFunction" || *out.Stacks[0].Outputs[0].OutputValue != "orders-api" {
		t.Fatalf("DescribeStacks: %v %+v", err, out)
	}
	_, err = cfn.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("missing")})
	if err == nil || !strings.Contains(err.Error(), "ValidationError") || !strings.Contains(err.Error(), "Stack with id missing does not exist") {
		t.Fatalf("a missing stack: %v", err)
	}
	req, _ := http.NewRequest(http.MethodPut, s.Endpoint()+"/_localaws/stacks/billing", strings.NewReader(`{"outputs": {"Fn": "billing-api"}}`))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("declaring a stack: %v %v", err, resp)
	}
	out, err = cfn.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String("billing")})
	if err != nil || *out.Stacks[0].Outputs[0].OutputValue != "billing-api" {
		t.Fatalf("declared stack: %v", err)
	}
}

func TestECRRepositories(t *testing.T) {
	s := start(t, Options{})
	c := ecr.NewFromConfig(cfg(s))
	created, err := c.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("team/orders-api"),
		ImageScanningConfiguration: &ecrtypes.ImageScanningConfiguration{ScanOnPush: true}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := *created.Repository.RepositoryUri, s.RegistryHost()+"/team/orders-api"; got != want {
		t.Fatalf("repositoryUri = %s, want %s", got, want)
	}
	var exists *ecrtypes.RepositoryAlreadyExistsException
	if _, err := c.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("team/orders-api")}); !errors.As(err, &exists) {
		t.Fatalf("a second create: %v", err)
	}
	var invalid *ecrtypes.InvalidParameterException
	if _, err := c.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("Bad_Name")}); !errors.As(err, &invalid) {
		t.Fatalf("a bad name: %v", err)
	}
	for i := range 5 {
		c.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(fmt.Sprintf("repo-%d", i))})
	}
	var names []string
	pages := ecr.NewDescribeRepositoriesPaginator(c, &ecr.DescribeRepositoriesInput{MaxResults: aws.Int32(2)})
	for pages.HasMorePages() {
		p, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range p.Repositories {
			names = append(names, *r.RepositoryName)
		}
	}
	if len(names) != 6 {
		t.Fatalf("paginated repositories: %v", names)
	}
	var notFound *ecrtypes.RepositoryNotFoundException
	if _, err := c.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{"nope"}}); !errors.As(err, &notFound) {
		t.Fatalf("describe a missing repository: %v", err)
	}
	if _, err := c.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{RepositoryName: aws.String("repo-0"), LifecyclePolicyText: aws.String("{}")}); !errors.As(err, &invalid) {
		t.Fatalf("an empty lifecycle policy: %v", err)
	}
	policy := `{"rules":[{"rulePriority":1,"selection":{"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}`
	if _, err := c.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{RepositoryName: aws.String("repo-0"), LifecyclePolicyText: aws.String(policy)}); err != nil {
		t.Fatal(err)
	}
	if got, err := c.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: aws.String("repo-0")}); err != nil || *got.LifecyclePolicyText != policy {
		t.Fatalf("get lifecycle policy: %v", err)
	}
	c.DeleteLifecyclePolicy(ctx, &ecr.DeleteLifecyclePolicyInput{RepositoryName: aws.String("repo-0")})
	var noPolicy *ecrtypes.LifecyclePolicyNotFoundException
	if _, err := c.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: aws.String("repo-0")}); !errors.As(err, &noPolicy) {
		t.Fatalf("a deleted lifecycle policy: %v", err)
	}
	if out, err := c.PutImageScanningConfiguration(ctx, &ecr.PutImageScanningConfigurationInput{RepositoryName: aws.String("repo-0"),
		ImageScanningConfiguration: &ecrtypes.ImageScanningConfiguration{ScanOnPush: true}}); err != nil || !out.ImageScanningConfiguration.ScanOnPush {
		t.Fatalf("scanning configuration: %v", err)
	}
	if _, err := c.DeleteRepository(ctx, &ecr.DeleteRepositoryInput{RepositoryName: aws.String("repo-1")}); err != nil {
		t.Fatal(err)
	}
}

// push writes img to repo:tag with the given credentials.
func push(s *Server, repo, tag string, img v1.Image, auth authn.Authenticator) error {
	ref, err := name.NewTag(s.RegistryHost()+"/"+repo+":"+tag, name.Insecure)
	if err != nil {
		return err
	}
	return remote.Write(ref, img, remote.WithAuth(auth))
}

func digestOf(t testing.TB, img v1.Image) string {
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

func TestRegistryPushDescribeDeleteWithECRSemantics(t *testing.T) {
	s := start(t, Options{})
	c := ecr.NewFromConfig(cfg(s))
	auth := login(t, s)
	img, _ := random.Image(1024, 2)
	if err := push(s, "orders-api", "v1", img, auth); err == nil || !strings.Contains(err.Error(), "NAME_UNKNOWN") {
		t.Fatalf("a push to a missing repository: %v", err)
	}
	c.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("orders-api"), ImageTagMutability: ecrtypes.ImageTagMutabilityImmutableWithExclusion,
		ImageTagMutabilityExclusionFilters: []ecrtypes.ImageTagMutabilityExclusionFilter{{FilterType: ecrtypes.ImageTagMutabilityExclusionFilterTypeWildcard, Filter: aws.String("cache*")}}})
	if err := push(s, "orders-api", "v1", img, authn.Anonymous); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("an anonymous push: %v", err)
	}
	if err := push(s, "orders-api", "v1", img, &authn.Basic{Username: "AWS", Password: "guessed"}); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("a push with a wrong token: %v", err)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+s.RegistryHost()+"/v2/", nil)
	req.SetBasicAuth("AWS", "guessed")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	body.ReadFrom(resp.Body)
	if resp.StatusCode != 401 || !strings.Contains(body.String(), "Your authorization token has expired") || resp.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("a wrong token: %d %s", resp.StatusCode, body.String())
	}
	if err := push(s, "orders-api", "v1", img, auth); err != nil {
		t.Fatal(err)
	}
	other, _ := random.Image(512, 1)
	if err := push(s, "orders-api", "v1", other, auth); err == nil || !strings.Contains(err.Error(), "TAG_INVALID") {
		t.Fatalf("re-tagging in an immutable repository: %v", err)
	}
	if err := push(s, "orders-api", "cache", other, auth); err != nil {
		t.Fatalf("an excluded tag must stay mutable: %v", err)
	}
	if err := push(s, "orders-api", "cache", img, auth); err != nil {
		t.Fatalf("moving an excluded tag: %v", err)
	}
	out, err := c.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("orders-api")})
	if err != nil || len(out.ImageDetails) != 2 {
		t.Fatalf("DescribeImages: %v %+v", err, out)
	}
	byDigest := map[string]ecrtypes.ImageDetail{}
	for _, d := range out.ImageDetails {
		byDigest[*d.ImageDigest] = d
	}
	mine := byDigest[digestOf(t, img)]
	if len(mine.ImageTags) != 2 || *mine.ImageManifestMediaType == "" || *mine.ImageSizeInBytes < 1024 || mine.ImagePushedAt == nil {
		t.Fatalf("image detail: %+v", mine)
	}
	var paged int
	for pages := ecr.NewDescribeImagesPaginator(c, &ecr.DescribeImagesInput{RepositoryName: aws.String("orders-api"), MaxResults: aws.Int32(1)}); pages.HasMorePages(); {
		p, err := pages.NextPage(ctx)
		if err != nil || len(p.ImageDetails) != 1 {
			t.Fatalf("a DescribeImages page: %v %+v", err, p)
		}
		paged++
	}
	if paged != 2 {
		t.Fatalf("DescribeImages in pages of one: %d pages", paged)
	}
	untagged, _ := c.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("orders-api"), Filter: &ecrtypes.DescribeImagesFilter{TagStatus: ecrtypes.TagStatusUntagged}})
	if len(untagged.ImageDetails) != 1 || *untagged.ImageDetails[0].ImageDigest != digestOf(t, other) {
		t.Fatalf("the image the cache tag left must be untagged: %+v", untagged.ImageDetails)
	}
	var notFound *ecrtypes.ImageNotFoundException
	if _, err := c.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("orders-api"), ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String("v9")}}}); !errors.As(err, &notFound) {
		t.Fatalf("describing a missing tag: %v", err)
	}
	got, err := c.BatchGetImage(ctx, &ecr.BatchGetImageInput{RepositoryName: aws.String("orders-api"), ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String("v1")}, {ImageTag: aws.String("v9")}}})
	raw, _ := img.RawManifest()
	if err != nil || len(got.Images) != 1 || *got.Images[0].ImageManifest != string(raw) || len(got.Failures) != 1 || got.Failures[0].FailureCode != ecrtypes.ImageFailureCodeImageNotFound {
		t.Fatalf("BatchGetImage: %v %+v", err, got)
	}
	ids, _ := c.ListImages(ctx, &ecr.ListImagesInput{RepositoryName: aws.String("orders-api")})
	if len(ids.ImageIds) != 3 {
		t.Fatalf("ListImages: %+v", ids.ImageIds)
	}
	var notEmpty *ecrtypes.RepositoryNotEmptyException
	if _, err := c.DeleteRepository(ctx, &ecr.DeleteRepositoryInput{RepositoryName: aws.String("orders-api")}); !errors.As(err, &notEmpty) {
		t.Fatalf("deleting a repository with images: %v", err)
	}
	del, err := c.BatchDeleteImage(ctx, &ecr.BatchDeleteImageInput{RepositoryName: aws.String("orders-api"), ImageIds: []ecrtypes.ImageIdentifier{{ImageDigest: aws.String(digestOf(t, img))}}})
	if err != nil || len(del.ImageIds) != 2 || len(del.Failures) != 0 {
		t.Fatalf("BatchDeleteImage: %v %+v", err, del)
	}
	ref, _ := name.NewDigest(s.RegistryHost()+"/orders-api@"+digestOf(t, img), name.Insecure)
	if _, err := remote.Get(ref, remote.WithAuth(auth)); err == nil {
		t.Fatalf("a deleted image is still in the registry")
	}
	left, _ := name.NewDigest(s.RegistryHost()+"/orders-api@"+digestOf(t, other), name.Insecure)
	if _, err := remote.Get(left, remote.WithAuth(auth)); err != nil {
		t.Fatalf("the image left: %v", err)
	}
	if _, err := c.DeleteRepository(ctx, &ecr.DeleteRepositoryInput{RepositoryName: aws.String("orders-api"), Force: true}); err != nil {
		t.Fatal(err)
	}
	c.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("orders-api")}) // the name again, empty
	if _, err := remote.Get(left, remote.WithAuth(auth)); err == nil {
		t.Fatalf("a forced DeleteRepository must delete its images from the registry")
	}
}

func TestRegistryAcceptsIndexesAndSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s := start(t, Options{Dir: dir})
	ecr.NewFromConfig(cfg(s)).CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("api")})
	auth := login(t, s)
	img, _ := random.Image(2048, 3)
	if err := push(s, "api", "v1", img, auth); err != nil {
		t.Fatal(err)
	}
	oci := mutate.MediaType(mutate.ConfigMediaType(img, types.OCIConfigJSON), types.OCIManifestSchema1)
	if err := push(s, "api", "oci", oci, auth); err != nil {
		t.Fatalf("pushing an OCI manifest: %v", err)
	}
	idx := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}})
	ref, _ := name.NewTag(s.RegistryHost()+"/api:multi", name.Insecure)
	if err := remote.WriteIndex(ref, idx, remote.WithAuth(auth)); err != nil {
		t.Fatalf("pushing an index: %v", err)
	}
	registry := s.RegistryHost()
	s.Close()

	s2 := start(t, Options{Dir: dir, RegistryAddr: registry})
	out, err := ecr.NewFromConfig(cfg(s2)).DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("api")})
	if err != nil || len(out.ImageDetails) != 3 {
		t.Fatalf("after a restart: %v %+v", err, out)
	}
	media := map[string]bool{}
	for _, d := range out.ImageDetails {
		media[*d.ImageManifestMediaType] = true
	}
	if !media[string(types.DockerManifestSchema2)] || !media[string(types.OCIManifestSchema1)] || !media[string(types.OCIImageIndex)] {
		t.Fatalf("manifest media types recorded: %v", media)
	}
	pulled, err := remote.Image(mustTag(t, s2, "api:v1"), remote.WithAuth(auth)) // the token survives too
	if err != nil {
		t.Fatal(err)
	}
	layers, _ := pulled.Layers()
	if len(layers) != 3 || digestOf(t, pulled) != digestOf(t, img) {
		t.Fatalf("the pulled image differs")
	}
	if _, err := remote.Index(mustTag(t, s2, "api:multi"), remote.WithAuth(auth)); err != nil {
		t.Fatalf("the index after a restart: %v", err)
	}
	for _, l := range layers { // blobs come from disk
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		rc.Close()
	}
}

func mustTag(t testing.TB, s *Server, ref string) name.Tag {
	tag, err := name.NewTag(s.RegistryHost()+"/"+ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return tag
}

func TestTokenExpiryAndRegistryFaults(t *testing.T) {
	s := start(t, Options{})
	ecr.NewFromConfig(cfg(s)).CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("api")})
	auth := login(t, s)
	img, _ := random.Image(256, 1)
	resp, err := http.Post(s.Endpoint()+"/_localaws/registry/expire-tokens", "application/json", nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatal(err)
	}
	err = push(s, "api", "v1", img, auth)
	var terr *transport.Error
	if !errors.As(err, &terr) || terr.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a push with an expired token: %v", err)
	}
	if n := s.Calls().Calls["registry:refused-token"]; n == 0 {
		t.Fatal("the refusal of the expired token was not counted")
	}
	auth = login(t, s)
	fault := `{"service": "registry", "operation": "PUT-manifest", "errorType": "TOOMANYREQUESTS", "status": 429, "count": 1}`
	if resp, err := http.Post(s.Endpoint()+"/_localaws/faults", "application/json", strings.NewReader(fault)); err != nil || resp.StatusCode != 200 {
		t.Fatalf("adding a fault: %v", err)
	}
	if err := push(s, "api", "v1", img, auth); err != nil { // go-containerregistry retries a 429
		t.Fatalf("one throttled manifest push must be retried: %v", err)
	}
}

func TestECRFaultsReachTheSDKAsTypedErrors(t *testing.T) {
	s := start(t, Options{})
	c := ecr.NewFromConfig(cfg(s), func(o *ecr.Options) { o.RetryMaxAttempts = 1 })
	fault := `{"service": "ecr", "operation": "DescribeRepositories", "errorType": "ServerException", "status": 500, "count": 1, "latencyMs": 50}`
	http.Post(s.Endpoint()+"/_localaws/faults", "application/json", strings.NewReader(fault))
	start := time.Now()
	var server *ecrtypes.ServerException
	if _, err := c.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{}); !errors.As(err, &server) || time.Since(start) < 50*time.Millisecond {
		t.Fatalf("the injected 500: %v", err)
	}
	if _, err := c.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{}); err != nil {
		t.Fatalf("a count-1 fault fires once: %v", err)
	}
}

func TestMalformedCallsGetAWSShapedErrors(t *testing.T) {
	s := start(t, Options{})
	const form = "application/x-www-form-urlencoded"
	huge := strings.Repeat("a", maxBody)
	for _, tc := range []struct {
		path, target, contentType, body, want string
		status                                int
	}{
		{"/", ecrTarget + ".CreateRepository", "", `{"repositoryName": `, `"__type":"SerializationException"`, 400},
		{"/", ecrTarget + ".Nope", "", `{}`, `"__type":"UnknownOperationException"`, 400},
		{"/", logsTarget + ".Nope", "", `{}`, `"__type":"UnknownOperationException"`, 400},
		{"/", "Nope_2020.Op", "", `{}`, `"__type":"UnknownOperationException"`, 400},
		{"/", ecrTarget + ".CreateRepository", "", `{"repositoryName": "` + huge + `"}`, `"__type":"RequestEntityTooLargeException"`, 413},
		{"/2015-03-31/functions", "", "application/json", `{"FunctionName": "` + huge + `"}`, `"message":"Request must be smaller than`, 413},
		{"/", "", form, "Action=Nope&Version=2011-06-15", "<Code>InvalidAction</Code><Message>Could not find operation Nope for version 2011-06-15</Message>", 400},
		{"/", "", form, "Action=GetCallerIdentity&Version=2011-06-15&Pad=" + huge, "<Code>RequestEntityTooLarge</Code>", 413},
		{"/", "", form, "Action=GetCallerIdentity&Bad=%zz", "<Code>MalformedQueryString</Code>", 400},
	} {
		req, _ := http.NewRequest(http.MethodPost, s.Endpoint()+tc.path, strings.NewReader(tc.body))
		if tc.target != "" {
			req.Header.Set("X-Amz-Target", tc.target)
			tc.contentType = "application/x-amz-json-1.1"
		}
		req.Header.Set("Content-Type", tc.contentType)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		name := tc.target + tc.path + " " + tc.body[:min(len(tc.body), 40)]
		if resp.StatusCode != tc.status || !strings.Contains(b.String(), tc.want) {
			t.Errorf("%s: %d %s", name, resp.StatusCode, b.String()[:min(b.Len(), 300)])
		}
		if tc.contentType == form && !strings.HasPrefix(b.String(), "<ErrorResponse xmlns=") {
			t.Errorf("%s: a query error must be an ErrorResponse document: %s", name, b.String())
		}
	}

	// The SDKs read them as the services' errors.
	var tooLarge *lambdatypes.RequestTooLargeException
	if _, err := lambda.NewFromConfig(cfg(s)).Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("api"), Payload: []byte(`"` + huge + `"`)}); !errors.As(err, &tooLarge) {
		t.Fatalf("an oversized Invoke: %v", err)
	}
	var api smithy.APIError
	if _, err := cloudformation.NewFromConfig(cfg(s)).DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(huge)}); !errors.As(err, &api) || api.ErrorCode() != "RequestEntityTooLarge" {
		t.Fatalf("an oversized DescribeStacks: %v", err)
	}
	var unknown *logtypes.ResourceNotFoundException
	if _, err := cloudwatchlogs.NewFromConfig(cfg(s)).GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("none"), LogStreamName: aws.String("s")}); !errors.As(err, &unknown) {
		t.Fatalf("a missing log group: %v", err)
	}
}

// TestBuildkitdPushesWithAnECRToken pushes a real build through buildkitd,
// authenticated with the password GetAuthorizationToken minted.
func TestBuildkitdPushesWithAnECRToken(t *testing.T) {
	addr := testenv.Buildkitd(t)
	s := start(t, Options{})
	ecr.NewFromConfig(cfg(s)).CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("built")})
	password := awsCLI(t, s, nil, "ecr", "get-login-password") // as a user would: aws ecr get-login-password
	dockerConfig := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte("AWS:" + password))
	os.WriteFile(filepath.Join(dockerConfig, "config.json"), []byte(fmt.Sprintf(`{"auths": {%q: {"auth": %q}}}`, s.RegistryHost(), auth)), 0o600)
	ctxDir := t.TempDir()
	os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), []byte("FROM scratch\nCOPY hello.txt /\n"), 0o644)
	os.WriteFile(filepath.Join(ctxDir, "hello.txt"), []byte("hello\n"), 0o644)
	cmd := exec.Command(testenv.Tool(t, "buildctl"), "--addr", addr, "build", "--frontend", "dockerfile.v0",
		"--local", "context="+ctxDir, "--local", "dockerfile="+ctxDir,
		"--output", "type=image,name="+s.RegistryHost()+"/built:v1,push=true")
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+dockerConfig)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("buildctl: %v\n%s", err, out)
	}
	out, err := ecr.NewFromConfig(cfg(s)).DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("built")})
	if err != nil || len(out.ImageDetails) == 0 {
		t.Fatalf("the pushed build is not recorded: %v %+v", err, out)
	}
}

// PutImage tags an image without pushing it again; tag immutability, set by
// PutImageTagMutability with an exclusion filter, decides which tags may move.
func TestPutImageAndTagMutabilityExclusions(t *testing.T) {
	s := start(t, Options{})
	c := ecr.NewFromConfig(cfg(s))
	one := pushImage(t, s, "api", "one", "amd64")
	two := pushImage(t, s, "api", "two", "amd64")
	if _, err := c.PutImageTagMutability(ctx, &ecr.PutImageTagMutabilityInput{RepositoryName: aws.String("api"),
		ImageTagMutability:                 ecrtypes.ImageTagMutabilityImmutableWithExclusion,
		ImageTagMutabilityExclusionFilters: []ecrtypes.ImageTagMutabilityExclusionFilter{{Filter: aws.String("latest*"), FilterType: ecrtypes.ImageTagMutabilityExclusionFilterTypeWildcard}}}); err != nil {
		t.Fatal(err)
	}
	manifest := func(img v1.Image) *string {
		raw, err := img.RawManifest()
		if err != nil {
			t.Fatal(err)
		}
		return aws.String(string(raw))
	}
	put := func(img v1.Image, tag string) error {
		_, err := c.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String("api"), ImageManifest: manifest(img), ImageTag: aws.String(tag)})
		return err
	}
	if err := put(one, "release-1"); err != nil {
		t.Fatalf("PutImage: %v", err)
	}
	var exists *ecrtypes.ImageAlreadyExistsException
	if err := put(one, "release-1"); !errors.As(err, &exists) {
		t.Fatalf("the same tag on the same image again: %v", err)
	}
	var taken *ecrtypes.ImageTagAlreadyExistsException
	if err := put(two, "release-1"); !errors.As(err, &taken) {
		t.Fatalf("moving an immutable tag: %v", err)
	}
	for _, img := range []v1.Image{one, two} { // an excluded tag moves
		if err := put(img, "latest"); err != nil {
			t.Fatalf("moving the excluded tag latest: %v", err)
		}
	}
	got, err := c.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("api"), ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String("latest")}}})
	if err != nil || *got.ImageDetails[0].ImageDigest != digestOf(t, two) {
		t.Fatalf("latest is on %v (%v), want %s", got, err, digestOf(t, two))
	}
	ref, _ := name.ParseReference(s.RegistryHost() + "/api:release-1")
	if _, err := remote.Image(ref, remote.WithAuth(login(t, s))); err != nil {
		t.Fatalf("a tag added by PutImage must be pullable: %v", err)
	}
	var layers *ecrtypes.LayersNotFoundException
	orphan, _ := random.Image(64, 1)
	if _, err := c.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String("api"), ImageManifest: manifest(orphan), ImageTag: aws.String("orphan")}); !errors.As(err, &layers) {
		t.Fatalf("a manifest whose layers were never pushed: %v", err)
	}

	// The token: base64 "AWS:<password>", 12 hours, and the registry as proxy endpoint.
	tok, err := c.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	data := tok.AuthorizationData[0]
	if left := time.Until(*data.ExpiresAt); left < 11*time.Hour+59*time.Minute || left > 12*time.Hour {
		t.Fatalf("the token expires in %s, want 12h", left)
	}
	if *data.ProxyEndpoint != "http://"+s.RegistryHost() {
		t.Fatalf("proxyEndpoint %s, want the registry", *data.ProxyEndpoint)
	}
}
