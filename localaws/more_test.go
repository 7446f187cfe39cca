package localaws

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
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
	other, _ := random.Image(256, 1)
	if err := push(s, "api", "v1", other, login(t, s)); err == nil || !strings.Contains(err.Error(), "TAG_INVALID") {
		t.Fatalf("another image under an immutable tag: %v", err)
	}
	if got, err := c.DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String("api"), ImageIds: []ecrtypes.ImageIdentifier{{ImageTag: aws.String("v1")}}}); err != nil || *got.ImageDetails[0].ImageDigest != digestOf(t, img) {
		t.Fatalf("the immutable tag moved: %v %+v", err, got)
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

// A rule with Skip lets that many of the calls it covers through, then
// applies as usual; the skipped calls are not counted as fired.
func TestFaultSkipLetsTheFirstCallsThrough(t *testing.T) {
	s := start(t, Options{})
	addFault(t, s, `{"service": "sts", "operation": "GetCallerIdentity", "errorType": "Throttling", "status": 400, "skip": 2, "count": 1}`)
	var codes []int
	for range 4 {
		resp, err := http.Post(s.Endpoint(), "application/x-www-form-urlencoded", strings.NewReader("Action=GetCallerIdentity&Version=2011-06-15"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
	}
	if want := []int{200, 200, 400, 200}; !slices.Equal(codes, want) {
		t.Fatalf("statuses %v, want %v", codes, want)
	}
	if f := s.Faults(); len(f) != 1 || f[0].Fired != 1 || f[0].Skipped != 2 {
		t.Fatalf("the rule: %+v", f)
	}
}

// The request journal keeps each operation's request bodies, oldest first,
// faulted calls included: the last 100, each cut at 64 KiB.
func TestRequestsJournalsBodies(t *testing.T) {
	s := start(t, Options{UpdateDelay: 20 * time.Millisecond})
	c, uri, v2 := functionOnV1(t, s)
	if err := lambda.NewFunctionActiveV2Waiter(c, func(o *lambda.FunctionActiveV2WaiterOptions) { o.MinDelay = 20 * time.Millisecond }).
		Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("api")}, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	got, _ := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("api")})
	addFault(t, s, `{"service": "lambda", "operation": "UpdateFunctionCode", "errorType": "ServiceException", "status": 500, "count": 1}`)
	if _, err := c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("api"),
		ImageUri: aws.String(uri + "@" + digestOf(t, v2)), RevisionId: got.Configuration.RevisionId}); err != nil {
		t.Fatal(err) // the SDK retried the 500
	}
	bodies := s.Requests("lambda:UpdateFunctionCode")
	if len(bodies) != 2 || string(bodies[0]) != string(bodies[1]) {
		t.Fatalf("the faulted call and its retry: %q", bodies)
	}
	var in struct{ ImageUri, RevisionId string }
	if err := json.Unmarshal(bodies[1], &in); err != nil || in.RevisionId != *got.Configuration.RevisionId || !strings.Contains(in.ImageUri, "@sha256:") {
		t.Fatalf("UpdateFunctionCode's body: %v %s", err, bodies[1])
	}
	if n := len(s.Requests("ecr:CreateRepository")); n != 2 { // one per image functionOnV1 pushed
		t.Fatalf("%d CreateRepository bodies", n)
	}
	if m := s.Requests("registry:PUT-manifest"); len(m) != 2 || !strings.Contains(string(m[0]), `"mediaType"`) {
		t.Fatalf("the manifests pushed: %d", len(m))
	}

	for i := range maxRequests + 1 {
		resp, err := http.Post(s.Endpoint(), "application/x-www-form-urlencoded", strings.NewReader(fmt.Sprintf("Action=GetCallerIdentity&Version=2011-06-15&N=%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	sts := s.Requests("sts:GetCallerIdentity")
	if len(sts) != maxRequests || !strings.HasSuffix(string(sts[0]), "&N=1") || !strings.HasSuffix(string(sts[maxRequests-1]), fmt.Sprintf("&N=%d", maxRequests)) {
		t.Fatalf("%d STS bodies, from %q to %q", len(sts), sts[0], sts[len(sts)-1])
	}
	logs := cloudwatchlogs.NewFromConfig(cfg(s))
	logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("big")})
	logs.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("big"), LogStreamName: aws.String("s")})
	if _, err := logs.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("big"), LogStreamName: aws.String("s"),
		LogEvents: []logtypes.InputLogEvent{{Timestamp: aws.Int64(1), Message: aws.String(strings.Repeat("x", 100<<10))}}}); err != nil {
		t.Fatal(err)
	}
	if big := s.Requests("logs:PutLogEvents"); len(big) != 1 || len(big[0]) != maxRequestBody {
		t.Fatalf("a 100 KiB body is kept cut at 64 KiB: %d bodies", len(big))
	}

	resp, err := http.Get(s.Endpoint() + "/_localaws/requests?op=ecr:CreateRepository")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var admin []string
	if err := json.NewDecoder(resp.Body).Decode(&admin); err != nil || len(admin) != 2 || !strings.Contains(admin[0], `"repositoryName":"api"`) {
		t.Fatalf("GET /_localaws/requests: %v %q", err, admin)
	}
}

// Every list call pages through its SDK paginator; and an alias moves,
// with a routing configuration.
func TestListsPageThroughSDKPaginators(t *testing.T) {
	s := start(t, Options{UpdateDelay: 20 * time.Millisecond})
	registries := ecr.NewFromConfig(cfg(s))
	c, uri, v2 := functionOnV1(t, s) // api:v1 and api:v2
	third, _ := random.Image(256, 1)
	if err := push(s, "api", "v2", third, login(t, s)); err != nil { // v2's first image is left untagged
		t.Fatal(err)
	}
	for status, want := range map[ecrtypes.TagStatus]int{ecrtypes.TagStatusTagged: 2, ecrtypes.TagStatusUntagged: 1, ecrtypes.TagStatusAny: 3} {
		var ids, pages int
		for p := ecr.NewListImagesPaginator(registries, &ecr.ListImagesInput{RepositoryName: aws.String("api"), MaxResults: aws.Int32(1),
			Filter: &ecrtypes.ListImagesFilter{TagStatus: status}}); p.HasMorePages(); pages++ {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			ids += len(out.ImageIds)
			for _, id := range out.ImageIds {
				if (id.ImageTag == nil) != (status == ecrtypes.TagStatusUntagged) && status != ecrtypes.TagStatusAny {
					t.Errorf("ListImages %s lists %+v", status, id)
				}
			}
		}
		if ids != want || pages != want {
			t.Errorf("ListImages %s: %d images in %d pages, want %d", status, ids, pages, want)
		}
	}

	fn := &lambda.GetFunctionInput{FunctionName: aws.String("api")}
	updated := lambda.NewFunctionUpdatedV2Waiter(c, func(o *lambda.FunctionUpdatedV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = 20*time.Millisecond, 50*time.Millisecond
	})
	if err := updated.Wait(ctx, fn, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("api")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("api"), ImageUri: aws.String(uri + "@" + digestOf(t, v2)), Publish: true}); err != nil {
		t.Fatal(err)
	}
	if err := updated.Wait(ctx, fn, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"b-fn", "c-fn"} {
		if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String(name), PackageType: types.PackageTypeImage,
			Role: aws.String("arn:aws:iam::123456789012:role/r"), Code: &types.FunctionCode{ImageUri: aws.String(uri + ":v1")}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"blue", "green", "live"} {
		if _, err := c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("api"), Name: aws.String(name), FunctionVersion: aws.String("1")}); err != nil {
			t.Fatal(err)
		}
	}
	var versions, aliases, functions []string
	for p := lambda.NewListVersionsByFunctionPaginator(c, &lambda.ListVersionsByFunctionInput{FunctionName: aws.String("api"), MaxItems: aws.Int32(2)}); p.HasMorePages(); {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range out.Versions {
			versions = append(versions, *v.Version)
		}
	}
	for p := lambda.NewListAliasesPaginator(c, &lambda.ListAliasesInput{FunctionName: aws.String("api"), MaxItems: aws.Int32(2)}); p.HasMorePages(); {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range out.Aliases {
			aliases = append(aliases, *a.Name)
		}
	}
	for p := lambda.NewListFunctionsPaginator(c, &lambda.ListFunctionsInput{MaxItems: aws.Int32(2)}); p.HasMorePages(); {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range out.Functions {
			functions = append(functions, *f.FunctionName)
		}
	}
	if want := []string{"$LATEST", "1", "2"}; !slices.Equal(versions, want) {
		t.Errorf("ListVersionsByFunction in pages of 2: %v, want %v", versions, want)
	}
	if want := []string{"blue", "green", "live"}; !slices.Equal(aliases, want) {
		t.Errorf("ListAliases in pages of 2: %v, want %v", aliases, want)
	}
	if want := []string{"api", "b-fn", "c-fn"}; !slices.Equal(functions, want) {
		t.Errorf("ListFunctions in pages of 2: %v, want %v", functions, want)
	}
	var invalid *types.InvalidParameterValueException
	if _, err := c.ListFunctions(ctx, &lambda.ListFunctionsInput{Marker: aws.String("nope")}); !errors.As(err, &invalid) {
		t.Errorf("a Marker no page returned: %v", err)
	}

	live, _ := c.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String("api"), Name: aws.String("live")})
	moved, err := c.UpdateAlias(ctx, &lambda.UpdateAliasInput{FunctionName: aws.String("api"), Name: aws.String("live"), FunctionVersion: aws.String("2"),
		RevisionId: live.RevisionId, RoutingConfig: &types.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{"1": 0.25}}})
	if err != nil || *moved.FunctionVersion != "2" || *moved.RevisionId == *live.RevisionId {
		t.Fatalf("UpdateAlias: %v %+v", err, moved)
	}
	if got, err := c.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String("api"), Name: aws.String("live")}); err != nil ||
		*got.FunctionVersion != "2" || got.RoutingConfig == nil || got.RoutingConfig.AdditionalVersionWeights["1"] != 0.25 {
		t.Fatalf("the moved alias: %v %+v", err, got)
	}

	logs := cloudwatchlogs.NewFromConfig(cfg(s))
	for _, g := range []string{"/g/1", "/g/2", "/g/3"} {
		logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(g)})
		logs.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("/g/1"), LogStreamName: aws.String("s" + g[3:])})
	}
	var groups, streams []string
	for p := cloudwatchlogs.NewDescribeLogGroupsPaginator(logs, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/g/"), Limit: aws.Int32(2)}); p.HasMorePages(); {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range out.LogGroups {
			groups = append(groups, *g.LogGroupName)
		}
	}
	for p := cloudwatchlogs.NewDescribeLogStreamsPaginator(logs, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("/g/1"), Limit: aws.Int32(2)}); p.HasMorePages(); {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range out.LogStreams {
			streams = append(streams, *st.LogStreamName)
		}
	}
	if want := []string{"/g/1", "/g/2", "/g/3"}; !slices.Equal(groups, want) {
		t.Errorf("DescribeLogGroups in pages of 2: %v", groups)
	}
	if want := []string{"s1", "s2", "s3"}; !slices.Equal(streams, want) {
		t.Errorf("DescribeLogStreams in pages of 2: %v", streams)
	}
}
