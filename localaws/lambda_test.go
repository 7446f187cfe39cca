package localaws

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// pushImage pushes a random image of an architecture to repo:tag and returns it.
func pushImage(t *testing.T, s *Server, repo, tag, arch string) v1.Image {
	t.Helper()
	img, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := img.ConfigFile()
	cf.Architecture, cf.OS = arch, "linux"
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	ecr.NewFromConfig(cfg(s)).CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(repo)})
	if err := push(s, repo, tag, img, login(t, s)); err != nil {
		t.Fatal(err)
	}
	return img
}

func TestLambdaLifecycleWithWaiters(t *testing.T) {
	s := start(t, Options{UpdateDelay: 200 * time.Millisecond})
	c := lambda.NewFromConfig(cfg(s))
	v1img := pushImage(t, s, "orders-api", "v1", "amd64")
	uri := s.RegistryHost() + "/orders-api"
	created, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{
		FunctionName: aws.String("orders-api"), PackageType: types.PackageTypeImage, Role: aws.String("arn:aws:iam::123456789012:role/lambda"),
		Code: &types.FunctionCode{ImageUri: aws.String(uri + ":v1")}, MemorySize: aws.Int32(256), Timeout: aws.Int32(10),
		Environment: &types.Environment{Variables: map[string]string{"STAGE": "test"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if created.State != types.StatePending || created.Architectures[0] != types.ArchitectureX8664 {
		t.Fatalf("a new function is Pending on x86_64: %+v", created)
	}
	var conflict *types.ResourceConflictException
	if _, err := c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("orders-api"), ImageUri: aws.String(uri + ":v1")}); !errors.As(err, &conflict) {
		t.Fatalf("an update while Pending: %v", err)
	}
	if err := lambda.NewFunctionActiveV2Waiter(c, func(o *lambda.FunctionActiveV2WaiterOptions) { o.MinDelay = 50 * time.Millisecond }).
		Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("orders-api")}, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	got, _ := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("orders-api")})
	if *got.Code.ImageUri != uri+":v1" || *got.Code.ResolvedImageUri != uri+"@"+digestOf(t, v1img) || *got.Configuration.CodeSha256 != strings.TrimPrefix(digestOf(t, v1img), "sha256:") {
		t.Fatalf("GetFunction code: %+v %+v", got.Code, got.Configuration)
	}

	// An update by tag resolves the tag now; moving the tag later changes nothing.
	v2img := pushImage(t, s, "orders-api", "v2", "amd64")
	upd, err := c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("orders-api"), ImageUri: aws.String(uri + ":v2"), RevisionId: got.Configuration.RevisionId})
	if err != nil || upd.LastUpdateStatus != types.LastUpdateStatusInProgress {
		t.Fatalf("UpdateFunctionCode: %v %+v", err, upd)
	}
	if _, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("orders-api")}); !errors.As(err, &conflict) {
		t.Fatalf("PublishVersion while InProgress: %v", err)
	}
	if _, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("orders-api"), MemorySize: aws.Int32(512)}); !errors.As(err, &conflict) ||
		!strings.Contains(err.Error(), "An update is in progress for resource: ") || !strings.Contains(err.Error(), "StatusCode: 409") {
		t.Fatalf("UpdateFunctionConfiguration while InProgress: %v", err)
	}
	if err := lambda.NewFunctionUpdatedV2Waiter(c, func(o *lambda.FunctionUpdatedV2WaiterOptions) { o.MinDelay = 50 * time.Millisecond }).
		Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("orders-api")}, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	var stale *types.PreconditionFailedException
	if _, err := c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("orders-api"), ImageUri: aws.String(uri + ":v2"), RevisionId: got.Configuration.RevisionId}); !errors.As(err, &stale) {
		t.Fatalf("an update with a stale RevisionId: %v", err)
	}
	if err := push(s, "orders-api", "v2", v1img, login(t, s)); err != nil { // the tag moves back
		t.Fatal(err)
	}
	after, _ := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("orders-api")})
	if *after.Code.ResolvedImageUri != uri+"@"+digestOf(t, v2img) {
		t.Fatalf("a tag is resolved at update time only: %s", *after.Code.ResolvedImageUri)
	}

	pub, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("orders-api"), CodeSha256: after.Configuration.CodeSha256})
	if err != nil || *pub.Version != "1" {
		t.Fatalf("PublishVersion: %v %+v", err, pub)
	}
	if err := lambda.NewPublishedVersionActiveWaiter(c, func(o *lambda.PublishedVersionActiveWaiterOptions) { o.MinDelay = 50 * time.Millisecond }).
		Wait(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("orders-api"), Qualifier: pub.Version}, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	again, _ := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("orders-api")})
	if *again.Version != "1" {
		t.Fatalf("publishing unchanged code must return version 1, got %s", *again.Version)
	}
	alias, err := c.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: aws.String("orders-api"), Name: aws.String("live"), FunctionVersion: aws.String("1")})
	if err != nil || *alias.AliasArn != *after.Configuration.FunctionArn+":live" {
		t.Fatalf("CreateAlias: %v %+v", err, alias)
	}
	if got, err := c.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: aws.String("orders-api"), Name: aws.String("live")}); err != nil || *got.FunctionVersion != "1" {
		t.Fatalf("GetAlias: %v", err)
	}
	var missing *types.ResourceNotFoundException
	if _, err := c.UpdateAlias(ctx, &lambda.UpdateAliasInput{FunctionName: aws.String("orders-api"), Name: aws.String("live"), FunctionVersion: aws.String("7")}); !errors.As(err, &missing) {
		t.Fatalf("an alias to a missing version: %v", err)
	}
	byAlias, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(*after.Configuration.FunctionArn + ":live")})
	if err != nil || *byAlias.Configuration.Version != "1" {
		t.Fatalf("GetFunction by alias ARN: %v", err)
	}
	if _, err := c.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("orders-api"), Qualifier: aws.String("1")}); !errors.As(err, &conflict) {
		t.Fatalf("deleting a version an alias uses: %v", err)
	}
	versions, err := c.ListVersionsByFunction(ctx, &lambda.ListVersionsByFunctionInput{FunctionName: aws.String("orders-api"), MaxItems: aws.Int32(1)})
	if err != nil || len(versions.Versions) != 1 || versions.NextMarker == nil {
		t.Fatalf("ListVersionsByFunction: %v %+v", err, versions)
	}
	aliases, _ := c.ListAliases(ctx, &lambda.ListAliasesInput{FunctionName: aws.String("orders-api")})
	if len(aliases.Aliases) != 1 {
		t.Fatalf("ListAliases: %+v", aliases)
	}
	if _, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("orders-api"), MemorySize: aws.Int32(64)}); err == nil {
		t.Fatalf("a 64 MB function must be refused")
	}
	if _, err := c.DeleteAlias(ctx, &lambda.DeleteAliasInput{FunctionName: aws.String("orders-api"), Name: aws.String("live")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: aws.String("orders-api")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("orders-api")}); !errors.As(err, &missing) || !strings.Contains(err.Error(), "Function not found: arn:aws:lambda:") {
		t.Fatalf("a deleted function: %v", err)
	}
}

func TestLambdaUpdatesFailWithLambdasReasons(t *testing.T) {
	s := start(t, Options{UpdateDelay: 50 * time.Millisecond})
	c := lambda.NewFromConfig(cfg(s))
	pushImage(t, s, "api", "amd", "amd64")
	arm := pushImage(t, s, "api", "arm", "arm64")
	idx := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: arm})
	if err := remote.WriteIndex(mustTag(t, s, "api:index"), idx, remote.WithAuth(login(t, s))); err != nil {
		t.Fatal(err)
	}
	uri := s.RegistryHost() + "/api"
	if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("api"), PackageType: types.PackageTypeImage,
		Role: aws.String("arn:aws:iam::123456789012:role/r"), Code: &types.FunctionCode{ImageUri: aws.String(uri + ":amd")}}); err != nil {
		t.Fatal(err)
	}
	wait := lambda.NewFunctionUpdatedV2Waiter(c, func(o *lambda.FunctionUpdatedV2WaiterOptions) {
		o.MinDelay = 20 * time.Millisecond
		o.MaxDelay = 50 * time.Millisecond
	})
	lambda.NewFunctionActiveV2Waiter(c, func(o *lambda.FunctionActiveV2WaiterOptions) { o.MinDelay = 20 * time.Millisecond }).
		Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("api")}, 5*time.Second)
	for _, tc := range []struct{ image, code, reason string }{
		{uri + ":arm", "InvalidImage", "does not match the function's architecture"},
		{uri + ":index", "InvalidImage", "media type for the source image"},
		{uri + ":gone", "ImageDeleted", "does not exist"},
		{s.RegistryHost() + "/other:v1", "ImageAccessDenied", "permission to access the ECR image"},
	} {
		if _, err := c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("api"), ImageUri: aws.String(tc.image)}); err != nil {
			t.Fatal(err)
		}
		if err := wait.Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("api")}, 5*time.Second); err == nil {
			t.Fatalf("%s: the waiter must stop at Failed", tc.image)
		}
		got, _ := c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("api")})
		if got.LastUpdateStatus != types.LastUpdateStatusFailed || string(got.LastUpdateStatusReasonCode) != tc.code || !strings.Contains(*got.LastUpdateStatusReason, tc.reason) {
			t.Errorf("%s: %s %s %q", tc.image, got.LastUpdateStatus, got.LastUpdateStatusReasonCode, aws.ToString(got.LastUpdateStatusReason))
		}
	}
	var invalid *types.InvalidParameterValueException
	if _, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("api")}); !errors.As(err, &invalid) {
		t.Fatalf("publishing after a failed update: %v", err)
	}
}

// functionOnV1 pushes the images api:v1 and api:v2 and creates the function
// "api" on v1; it returns the repository's URI and v2.
func functionOnV1(t *testing.T, s *Server) (*lambda.Client, string, v1.Image) {
	t.Helper()
	c := lambda.NewFromConfig(cfg(s))
	pushImage(t, s, "api", "v1", "amd64")
	v2 := pushImage(t, s, "api", "v2", "amd64")
	uri := s.RegistryHost() + "/api"
	if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("api"), PackageType: types.PackageTypeImage,
		Role: aws.String("arn:aws:iam::123456789012:role/r"), Code: &types.FunctionCode{ImageUri: aws.String(uri + ":v1")}}); err != nil {
		t.Fatal(err)
	}
	return c, uri, v2
}

// A FailUpdate fault makes an accepted update settle as Failed, leaving the
// previous code serving, as when Lambda cannot pull an image after all.
func TestInjectedFailedUpdateSettlesAsFailed(t *testing.T) {
	s := start(t, Options{UpdateDelay: 50 * time.Millisecond})
	c, uri, v2 := functionOnV1(t, s)
	fast := func(o *lambda.FunctionUpdatedV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = 20*time.Millisecond, 50*time.Millisecond
	}
	wait := lambda.NewFunctionUpdatedV2Waiter(c, fast)
	wait.Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("api")}, 5*time.Second)
	before, _ := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("api")})
	addFault(t, s, `{"service": "lambda", "operation": "UpdateFunctionCode", "failUpdate": "ImageAccessDenied", "message": "Lambda was denied", "count": 1}`)
	d, _ := v2.Digest()
	for i, want := range []types.LastUpdateStatus{types.LastUpdateStatusFailed, types.LastUpdateStatusSuccessful} {
		if _, err := c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("api"), ImageUri: aws.String(uri + "@" + d.String())}); err != nil {
			t.Fatal(err)
		}
		wait.Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("api")}, 5*time.Second)
		got, _ := c.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("api")})
		cfg := got.Configuration
		if cfg.LastUpdateStatus != want {
			t.Fatalf("update %d: %s (%s), want %s", i+1, cfg.LastUpdateStatus, cfg.LastUpdateStatusReasonCode, want)
		}
		if i == 0 && (cfg.LastUpdateStatusReasonCode != types.LastUpdateStatusReasonCodeImageAccessDenied ||
			aws.ToString(cfg.LastUpdateStatusReason) != "Lambda was denied" || *got.Code.ResolvedImageUri != *before.Code.ResolvedImageUri) {
			t.Fatalf("the failed update: %s %q, resolved %s", cfg.LastUpdateStatusReasonCode, aws.ToString(cfg.LastUpdateStatusReason), *got.Code.ResolvedImageUri)
		}
	}
}

func TestLambdaStateSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s := start(t, Options{Dir: dir, UpdateDelay: time.Hour})
	pushImage(t, s, "api", "v1", "amd64")
	c := lambda.NewFromConfig(cfg(s))
	if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String("api"), PackageType: types.PackageTypeImage,
		Role: aws.String("arn:aws:iam::123456789012:role/r"), Code: &types.FunctionCode{ImageUri: aws.String(s.RegistryHost() + "/api:v1")}}); err != nil {
		t.Fatal(err)
	}
	registry := s.RegistryHost()
	s.Close()
	s2 := start(t, Options{Dir: dir, RegistryAddr: registry, UpdateDelay: time.Hour})
	got, err := lambda.NewFromConfig(cfg(s2)).GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: aws.String("api")})
	if err != nil || got.Configuration.State != types.StatePending {
		t.Fatalf("after a restart: %v %+v", err, got)
	}
	var conflict *types.ResourceConflictException
	if _, err := lambda.NewFromConfig(cfg(s2), func(o *lambda.Options) { o.RetryMaxAttempts = 1 }).Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("api")}); !errors.As(err, &conflict) || !strings.Contains(err.Error(), "Pending") {
		t.Fatalf("Invoke while Pending: %v", err)
	}
}

// A version published with an update (Publish: true) settles with it, and a
// configuration update goes InProgress, then Successful, as Lambda's do.
func TestPublishWithTheUpdateAndConfigurationUpdates(t *testing.T) {
	s := start(t, Options{UpdateDelay: 100 * time.Millisecond})
	c, uri, v2 := functionOnV1(t, s)
	fn := &lambda.GetFunctionInput{FunctionName: aws.String("api")}
	fast := func(o *lambda.FunctionUpdatedV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = 20*time.Millisecond, 50*time.Millisecond
	}
	updated := lambda.NewFunctionUpdatedV2Waiter(c, fast)
	if err := updated.Wait(ctx, fn, 5*time.Second); err != nil {
		t.Fatal(err)
	}

	upd, err := c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("api"), ImageUri: aws.String(uri + "@" + digestOf(t, v2)), Publish: true})
	if err != nil || upd.LastUpdateStatus != types.LastUpdateStatusInProgress {
		t.Fatalf("UpdateFunctionCode with Publish: %v %+v", err, upd)
	}
	version := &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("api"), Qualifier: aws.String("1")}
	if v, err := c.GetFunctionConfiguration(ctx, version); err != nil || v.State != types.StatePending {
		t.Fatalf("the version published with an update is Pending while it settles: %v %+v", err, v)
	}
	if err := lambda.NewPublishedVersionActiveWaiter(c, func(o *lambda.PublishedVersionActiveWaiterOptions) {
		o.MinDelay, o.MaxDelay = 20*time.Millisecond, 50*time.Millisecond
	}).
		Wait(ctx, version, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	v, _ := c.GetFunctionConfiguration(ctx, version)
	if v.LastUpdateStatus != types.LastUpdateStatusSuccessful || *v.CodeSha256 != strings.TrimPrefix(digestOf(t, v2), "sha256:") {
		t.Fatalf("the settled version: %s %s", v.LastUpdateStatus, *v.CodeSha256)
	}

	// An update that fails takes the version published with it down too.
	addFault(t, s, `{"service": "lambda", "operation": "UpdateFunctionCode", "failUpdate": "ImageAccessDenied", "count": 1}`)
	if _, err := c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("api"), ImageUri: aws.String(uri + ":v1"), Publish: true}); err != nil {
		t.Fatal(err)
	}
	var failed *lambda.GetFunctionConfigurationOutput
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if failed, err = c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("api"), Qualifier: aws.String("2")}); err != nil {
			t.Fatal(err)
		}
		if failed.State != types.StatePending {
			break
		}
	}
	if failed.State != types.StateFailed || failed.LastUpdateStatusReasonCode != types.LastUpdateStatusReasonCodeImageAccessDenied {
		t.Fatalf("a version published with a failed update: %s %s", failed.State, failed.LastUpdateStatusReasonCode)
	}

	// A configuration update: InProgress, then Successful, and it sticks.
	conf, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{FunctionName: aws.String("api"), MemorySize: aws.Int32(1024), Timeout: aws.Int32(45),
		Environment: &types.Environment{Variables: map[string]string{"STAGE": "prod"}}})
	if err != nil || conf.LastUpdateStatus != types.LastUpdateStatusInProgress {
		t.Fatalf("UpdateFunctionConfiguration: %v %+v", err, conf)
	}
	if err := updated.Wait(ctx, fn, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	got, _ := c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("api")})
	if got.LastUpdateStatus != types.LastUpdateStatusSuccessful || *got.MemorySize != 1024 || *got.Timeout != 45 || got.Environment.Variables["STAGE"] != "prod" {
		t.Fatalf("after the configuration update: %s %d %d %v", got.LastUpdateStatus, *got.MemorySize, *got.Timeout, got.Environment.Variables)
	}
}

// With PublishDelay, a published version stays Pending, refusing
// invocations as Lambda does, until the delay passed; one published with an
// update that fails ends Failed with the update's reason.
func TestPublishDelayKeepsVersionsPending(t *testing.T) {
	s := start(t, Options{UpdateDelay: 20 * time.Millisecond, PublishDelay: 2 * time.Second})
	c, uri, v2 := functionOnV1(t, s)
	fn := &lambda.GetFunctionInput{FunctionName: aws.String("api")}
	updated := lambda.NewFunctionUpdatedV2Waiter(c, func(o *lambda.FunctionUpdatedV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = 20*time.Millisecond, 50*time.Millisecond
	})
	if err := updated.Wait(ctx, fn, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	active := lambda.NewPublishedVersionActiveWaiter(c, func(o *lambda.PublishedVersionActiveWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 100*time.Millisecond
	})

	pub, err := c.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: aws.String("api")})
	if err != nil || pub.State != types.StatePending || *pub.Version != "1" {
		t.Fatalf("PublishVersion with a publish delay: %v %+v", err, pub)
	}
	version := &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("api"), Qualifier: pub.Version}
	if got, err := c.GetFunctionConfiguration(ctx, version); err != nil || got.State != types.StatePending || got.StateReasonCode != types.StateReasonCodeCreating {
		t.Fatalf("a version being published: %v %+v", err, got)
	}
	if latest, _ := c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("api")}); latest.State != types.StateActive {
		t.Fatalf("publishing leaves $LATEST Active: %s", latest.State)
	}
	var conflict *types.ResourceConflictException
	_, err = c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String("api"), Qualifier: pub.Version})
	if !errors.As(err, &conflict) || !strings.Contains(err.Error(), "The operation cannot be performed at this time. The function is currently in the following state: Pending") {
		t.Fatalf("invoking a Pending version: %v", err)
	}
	if err := active.Wait(ctx, version, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.GetFunctionConfiguration(ctx, version); got.State != types.StateActive || got.StateReasonCode != "" {
		t.Fatalf("the published version: %s %s", got.State, got.StateReasonCode)
	}

	addFault(t, s, `{"service": "lambda", "operation": "UpdateFunctionCode", "failUpdate": "ImageAccessDenied", "count": 1}`)
	if _, err := c.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String("api"), ImageUri: aws.String(uri + "@" + digestOf(t, v2)), Publish: true}); err != nil {
		t.Fatal(err)
	}
	if err := updated.Wait(ctx, fn, 10*time.Second); err == nil {
		t.Fatal("the update must fail")
	}
	second := &lambda.GetFunctionConfigurationInput{FunctionName: aws.String("api"), Qualifier: aws.String("2")}
	if got, _ := c.GetFunctionConfiguration(ctx, second); got.State != types.StatePending {
		t.Fatalf("a version stays Pending for the publish delay, after its update settled: %s", got.State)
	}
	if err := active.Wait(ctx, second, 20*time.Second); err == nil || !strings.Contains(err.Error(), "Failure") {
		t.Fatalf("the waiter must stop at Failed: %v", err)
	}
	if got, _ := c.GetFunctionConfiguration(ctx, second); got.State != types.StateFailed || got.StateReasonCode != types.StateReasonCodeImageAccessDenied {
		t.Fatalf("a version published with a failed update: %s %s", got.State, got.StateReasonCode)
	}
}
