package localaws

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/google/go-containerregistry/pkg/v1/random"
)

func addFault(t *testing.T, s *Server, rule string) {
	t.Helper()
	resp, err := http.Post(s.Endpoint()+"/_localaws/faults", "application/json", strings.NewReader(rule))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("adding fault %s: %v %v", rule, err, resp)
	}
}

func TestLambdaFaultsThrottlingIsRetriedConflictsAreTyped(t *testing.T) {
	s := start(t, Options{UpdateDelay: 20 * time.Millisecond})
	pushImage(t, s, "api", "v1", "amd64")
	c := lambda.NewFromConfig(cfg(s))
	if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("api"), PackageType: types.PackageTypeImage, Publish: true,
		Role: aws.String("arn:aws:iam::123456789012:role/r"), Code: &types.FunctionCode{ImageUri: aws.String(s.RegistryHost() + "/api:v1")}}); err != nil {
		t.Fatal(err)
	}
	addFault(t, s, `{"service": "lambda", "operation": "GetFunction", "errorType": "TooManyRequestsException", "status": 429, "count": 2}`)
	if _, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("api")}); err != nil {
		t.Fatalf("two throttles must be retried by the SDK: %v", err)
	}
	addFault(t, s, `{"service": "lambda", "operation": "UpdateFunctionCode", "errorType": "ResourceConflictException", "status": 409, "count": 1}`)
	var conflict *types.ResourceConflictException
	_, err := lambda.NewFromConfig(cfg(s), func(o *lambda.Options) { o.RetryMaxAttempts = 1 }).UpdateFunctionCode(ctx,
		&lambda.UpdateFunctionCodeInput{FunctionName: aws.String("api"), ImageUri: aws.String(s.RegistryHost() + "/api:v1")})
	if !errors.As(err, &conflict) {
		t.Fatalf("an injected conflict: %v", err)
	}
	versions, _ := c.ListVersionsByFunction(ctx, &lambda.ListVersionsByFunctionInput{FunctionName: aws.String("api")})
	if len(versions.Versions) != 2 { // $LATEST and the version Publish made
		t.Fatalf("CreateFunction with Publish: %+v", versions.Versions)
	}
	http.DefaultClient.Do(mustRequest(t, http.MethodDelete, s.Endpoint()+"/_localaws/faults"))
}

func mustRequest(t *testing.T, method, url string) *http.Request {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestTagMutabilityAndLogGroups(t *testing.T) {
	s := start(t, Options{})
	c := ecr.NewFromConfig(cfg(s))
	c.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("api")})
	out, err := c.PutImageTagMutability(ctx, &ecr.PutImageTagMutabilityInput{RepositoryName: aws.String("api"), ImageTagMutability: ecrtypes.ImageTagMutabilityImmutable})
	if err != nil || out.ImageTagMutability != ecrtypes.ImageTagMutabilityImmutable {
		t.Fatalf("PutImageTagMutability: %v", err)
	}
	img := pushImage(t, s, "api", "v1", "amd64")
	if err := push(s, "api", "v1", img, login(t, s)); err != nil {
		t.Fatalf("re-pushing the same image under an immutable tag is allowed: %v", err)
	}

	logs := cloudwatchlogs.NewFromConfig(cfg(s))
	for _, g := range []string{"/aws/lambda/a", "/aws/lambda/b", "/other"} {
		logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(g)})
	}
	groups, err := logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/aws/lambda/")})
	if err != nil || len(groups.LogGroups) != 2 {
		t.Fatalf("DescribeLogGroups: %v %+v", err, groups)
	}
	logs.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String("/other")})
	var missing *logtypes.ResourceNotFoundException
	if _, err := logs.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String("/other")}); !errors.As(err, &missing) {
		t.Fatalf("deleting a deleted group: %v", err)
	}
}

func TestUnknownLambdaPathsGetJSONErrors(t *testing.T) {
	s := start(t, Options{})
	for _, path := range []string{"/2015-03-31/functions/api/bogus", "/2015-03-31/functions/a/b/c/d", "/nope"} {
		resp, err := http.Get(s.Endpoint() + path)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		if resp.StatusCode != 404 || resp.Header.Get("X-Amzn-ErrorType") != "UnknownOperationException" || !strings.HasPrefix(b.String(), "{") {
			t.Errorf("%s: %d %q %s", path, resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), b.String())
		}
	}
	resp, _ := http.Post(s.Endpoint()+"/2015-03-31/functions", "application/json", strings.NewReader(`{"FunctionName": `))
	if resp.StatusCode != 400 || resp.Header.Get("X-Amzn-ErrorType") != "SerializationException" {
		t.Errorf("malformed CreateFunction: %d %s", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"))
	}
}

// With AllowActions, a call needing any other IAM action is denied as AWS
// denies it, registry operations included.
func TestAllowActionsDeniesWhatThePolicyDoesNot(t *testing.T) {
	s := start(t, Options{AllowActions: []string{"ecr:GetAuthorizationToken", "ecr:CreateRepository", "ecr:InitiateLayerUpload", "lambda:*"}})
	c := ecr.NewFromConfig(cfg(s))
	if _, err := c.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("api")}); err != nil {
		t.Fatalf("an allowed call: %v", err)
	}
	_, err := c.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{})
	if err == nil || !strings.Contains(err.Error(), "AccessDeniedException") || !strings.Contains(err.Error(), "not authorized to perform: ecr:DescribeRepositories") {
		t.Fatalf("a call the policy does not allow: %v", err)
	}
	if _, err := lambda.NewFromConfig(cfg(s)).ListFunctions(ctx, &lambda.ListFunctionsInput{}); err != nil {
		t.Fatalf("lambda:* allows ListFunctions: %v", err)
	}
	img, _ := random.Image(64, 1)
	if err := push(s, "api", "v1", img, login(t, s)); err == nil || !strings.Contains(err.Error(), "403 Forbidden") {
		t.Fatalf("a push without the layer actions: %v", err)
	}
	if got := IAMActions("registry:PUT-manifest"); len(got) != 1 || got[0] != "ecr:PutImage" {
		t.Fatalf("IAMActions(registry:PUT-manifest) = %v", got)
	}
}

// Count and probability apply to every rule, latency-only ones included, and
// the admin API says how often each fired.
func TestFaultCountsProbabilitiesAndLatency(t *testing.T) {
	s := start(t, Options{})
	sts := func() time.Duration {
		start := time.Now()
		resp, err := http.Post(s.Endpoint(), "application/x-www-form-urlencoded", strings.NewReader("Action=GetCallerIdentity&Version=2011-06-15"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return time.Since(start)
	}
	addFault(t, s, `{"service": "sts", "operation": "GetCallerIdentity", "latencyMs": 300, "count": 1}`)
	if d := sts(); d < 300*time.Millisecond {
		t.Fatalf("the first call was not delayed: %s", d)
	}
	if d := sts(); d >= 300*time.Millisecond {
		t.Fatalf("a latency rule with count 1 delayed a second call: %s", d)
	}
	s.faults.clear()
	addFault(t, s, `{"service": "sts", "operation": "*", "errorType": "Throttling", "status": 400, "probability": 0.5}`)
	for range 200 {
		sts()
	}
	resp, err := http.Get(s.Endpoint() + "/_localaws/faults")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rules []Fault
	if err := json.NewDecoder(resp.Body).Decode(&rules); err != nil || len(rules) != 1 {
		t.Fatalf("GET /_localaws/faults: %v %+v", err, rules)
	}
	if f := rules[0].Fired; f < 60 || f > 140 { // 200 calls at p=0.5: 100 ± 5.6σ
		t.Fatalf("a rule of probability 0.5 fired %d times in 200 calls", f)
	}
}
