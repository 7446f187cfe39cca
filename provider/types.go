package provider

import "github.com/pulumi/pulumi-go-provider/infer"

// Args are the inputs of a LambdaContainerDeployment.
type Args struct {
	Function          *string           `pulumi:"function,optional"`
	FunctionFromStack *StackOutput      `pulumi:"functionFromStack,optional"`
	FunctionSettings  *FunctionSettings `pulumi:"functionSettings,optional"`
	Repository        string            `pulumi:"repository"`
	Context           string            `pulumi:"context"`
	Dockerfile        *string           `pulumi:"dockerfile,optional"`
	Target            *string           `pulumi:"target,optional"`
	BuildArgs         map[string]string `pulumi:"buildArgs,optional"`
	Secrets           map[string]string `pulumi:"secrets,optional" provider:"secret"`
	Platform          *string           `pulumi:"platform,optional"`
	Cache             *bool             `pulumi:"cache,optional"`
	Triggers          []string          `pulumi:"triggers,optional"`
	Tags              map[string]string `pulumi:"tags,optional"`
	ImageTags         []string          `pulumi:"imageTags,optional"`
	Alias             *string           `pulumi:"alias,optional"`
	Verify            *Verify           `pulumi:"verify,optional"`
	Rollback          *bool             `pulumi:"rollback,optional"`
	KeepVersions      *int              `pulumi:"keepVersions,optional"`
	Analysis          *string           `pulumi:"analysis,optional"`

	// Computed by Check from the context, so that the default diff sees a
	// source change and the preview names the files. Never set by users.
	SourceHash  *string           `pulumi:"sourceHash,optional"`
	SourceFiles map[string]string `pulumi:"sourceFiles,optional"`
}

func (a *Args) Annotate(an infer.Annotator) {
	an.Describe(&a.Function, "The Lambda function to deploy to: its name or ARN. The function must use `PackageType: Image`. Give exactly one of `function` and `functionFromStack`.")
	an.Describe(&a.FunctionFromStack, "Find the function's name or ARN in the outputs of a CloudFormation stack, for functions created by SAM, CDK or plain CloudFormation. Give exactly one of `function` and `functionFromStack`.")
	an.Describe(&a.FunctionSettings, "Create the function when it doesn't exist, with these settings, and own it: destroying the deployment then deletes the function. An existing function is adopted as it is (its settings are not changed).")
	an.Describe(&a.Repository, "The ECR repository to push to: a repository name (created when missing) or a full repository URI. It must be in the function's region.")
	an.Describe(&a.Context, "The build context: a directory, relative to the Pulumi program's directory. Exactly the files BuildKit would send (after `.dockerignore`) are hashed, and only a change to them rebuilds the image.")
	an.Describe(&a.Dockerfile, "The Dockerfile, relative to `context` (or absolute). Defaults to `Dockerfile` in the context.")
	an.Describe(&a.Target, "The Dockerfile stage to build. Defaults to the last stage.")
	an.Describe(&a.BuildArgs, "Build arguments (`ARG`), such as `BASE_IMAGE` or `PYTHON_VERSION`. A change rebuilds the image, and the diff names the argument.")
	an.Describe(&a.Secrets, "Build secrets, mounted with `RUN --mount=type=secret,id=<key>`. They never reach an image layer, the image history, the Pulumi state or a log, and a change to them alone does not rebuild.")
	an.Describe(&a.Platform, "The image platform: `linux/amd64` or `linux/arm64`. Defaults to the function's architecture, and must agree with it when given.")
	an.Describe(&a.Cache, "Reuse and refresh the BuildKit layer cache kept in the ECR repository under the `buildcache` tag (mode=max). Defaults to true.")
	an.Describe(&a.Triggers, "Arbitrary values folded into the source hash: a change to any of them rebuilds and redeploys, even when the source is unchanged.")
	an.Describe(&a.Tags, "AWS tags applied to the ECR repository when this resource creates it.")
	an.Describe(&a.ImageTags, "More image tags, such as a commit SHA or `latest`, added to the image once its version passed verification and the alias moved, so that they only ever name a verified image. "+
		"The repository this resource creates keeps them mutable (with `buildcache`); in an immutable repository a tag that already names another image fails the deployment before the function is touched. "+
		"Pruning does not keep an image for its tags.")
	an.Describe(&a.Alias, "The alias to move to the new version, only after it passed verification (for example `live`). It is created when missing. Without an alias, `$LATEST` serves the new code as soon as it is rolled.")
	an.Describe(&a.Verify, "How to prove the new version works before any traffic moves to it. Defaults to an HTTP `GET /` sent as an API Gateway HTTP API (v2) event, expecting a 2xx status.")
	an.Describe(&a.Rollback, "On a failed verification, restore the previous image and alias, and fail the update with the cause and the fix. Defaults to true.")
	an.Describe(&a.KeepVersions, "How many published versions (and their images) to keep as the rollback window; older ones that no alias references are pruned. At least 1. Defaults to 3.")
	an.Describe(&a.Analysis, "What the preflight analysis of the Python source and the Dockerfile does with its findings: `error` fails the preview, `warn` reports them, `off` skips it. Defaults to `error`.")
	an.Describe(&a.SourceHash, "Computed by the provider: the content hash of the build context exactly as BuildKit sends it (paths, contents and exec bits of the files `.dockerignore` keeps, the Dockerfile even when ignored) and the `triggers`, named with its algorithm (`blake3:...`). Build arguments, target and platform are separate inputs, so that the diff names them. Leave it unset.")
	an.Describe(&a.SourceFiles, "Computed by the provider: a short digest per file of the build context (per directory for very large contexts), so that the preview names what changed. Leave it unset.")

	an.SetDefault(&a.Cache, true)
	an.SetDefault(&a.Rollback, true)
	an.SetDefault(&a.KeepVersions, 3)
	an.SetDefault(&a.Analysis, "error")
}

// FunctionSettings describe a function the deployment creates when it is missing.
type FunctionSettings struct {
	Role           string            `pulumi:"role"`
	MemoryMb       *int              `pulumi:"memoryMb,optional"`
	TimeoutSeconds *int              `pulumi:"timeoutSeconds,optional"`
	Environment    map[string]string `pulumi:"environment,optional"`
	Architectures  []string          `pulumi:"architectures,optional"`
}

func (f *FunctionSettings) Annotate(an infer.Annotator) {
	an.Describe(&f.Role, "The ARN of the function's execution role.")
	an.Describe(&f.MemoryMb, "Memory in MB (128 to 10240). Defaults to 512.")
	an.Describe(&f.TimeoutSeconds, "Timeout in seconds (1 to 900). Defaults to 30.")
	an.Describe(&f.Environment, "Environment variables. The preflight analysis checks that every variable the code reads at import time is set.")
	an.Describe(&f.Architectures, "`[\"x86_64\"]` (the default) or `[\"arm64\"]`; the image is built for it.")
	an.SetDefault(&f.MemoryMb, 512)
	an.SetDefault(&f.TimeoutSeconds, 30)
}

// StackOutput names a CloudFormation stack output that holds a function's name or ARN.
type StackOutput struct {
	StackName string `pulumi:"stackName"`
	OutputKey string `pulumi:"outputKey"`
}

func (s *StackOutput) Annotate(an infer.Annotator) {
	an.Describe(&s.StackName, "The CloudFormation stack's name or ID.")
	an.Describe(&s.OutputKey, "The key of the stack output whose value is the function's name or ARN.")
}

// Verify describes the smoke test run against the new version before traffic moves.
type Verify struct {
	HTTP               *HttpRequest `pulumi:"http,optional"`
	Event              *string      `pulumi:"event,optional"`
	ExpectStatus       *int         `pulumi:"expectStatus,optional"`
	ExpectBodyContains *string      `pulumi:"expectBodyContains,optional"`
	URL                *string      `pulumi:"url,optional"`
	TimeoutSeconds     *int         `pulumi:"timeoutSeconds,optional"`
	LogWindowSeconds   *int         `pulumi:"logWindowSeconds,optional"`
	FailOnLogErrors    *bool        `pulumi:"failOnLogErrors,optional"`
}

func (v *Verify) Annotate(an infer.Annotator) {
	an.Describe(&v.HTTP, "An HTTP request, sent to the new version as an API Gateway HTTP API (v2) event, the shape mangum expects. Give at most one of `http` and `event`.")
	an.Describe(&v.Event, "A raw JSON event to invoke the new version with, for handlers that are not HTTP. Give at most one of `http` and `event`.")
	an.Describe(&v.ExpectStatus, "The status code the response must have (100 to 599): the `statusCode` of an HTTP response. Without it, any 2xx passes.")
	an.Describe(&v.ExpectBodyContains, "A string the response body must contain.")
	an.Describe(&v.URL, "An HTTPS URL to GET after the invocation passed, such as a function URL or an API endpoint; it must answer with `expectStatus` (or any 2xx).")
	an.Describe(&v.TimeoutSeconds, "How long the verification may take in all, in seconds (1 to 900). Defaults to 60.")
	an.Describe(&v.LogWindowSeconds, "How long to wait, in seconds, for the invocation's log lines (up to its `REPORT` line) to reach CloudWatch Logs, which are then scanned for errors. Defaults to 10; 0 turns the scan off.")
	an.Describe(&v.FailOnLogErrors, "Fail the verification when the scanned logs hold errors (`[ERROR]` and other `ERROR` lines such as `ERROR:root:…`, tracebacks, `Task timed out`, `Runtime.` errors), even if the response passed. Defaults to true.")

	an.SetDefault(&v.TimeoutSeconds, 60)
	an.SetDefault(&v.LogWindowSeconds, 10)
	an.SetDefault(&v.FailOnLogErrors, true)
}

// HttpRequest is the request the `http` verification preset sends.
type HttpRequest struct {
	Method  *string           `pulumi:"method,optional"`
	Path    string            `pulumi:"path"`
	Headers map[string]string `pulumi:"headers,optional"`
	Body    *string           `pulumi:"body,optional"`
}

func (h *HttpRequest) Annotate(an infer.Annotator) {
	an.Describe(&h.Method, "The HTTP method. Defaults to `GET`.")
	an.Describe(&h.Path, "The request path, starting with `/`, optionally with a `?query`.")
	an.Describe(&h.Headers, "Request headers.")
	an.Describe(&h.Body, "The request body.")
	an.SetDefault(&h.Method, "GET")
}

// State is what a LambdaContainerDeployment records after a deployment.
type State struct {
	Args

	ImageURI         string        `pulumi:"imageUri"`
	ImageDigest      string        `pulumi:"imageDigest"`
	ContentTag       string        `pulumi:"contentTag"`
	ImageSizeBytes   int           `pulumi:"imageSizeBytes"`
	ImagePlatform    string        `pulumi:"imagePlatform"`
	FunctionArn      string        `pulumi:"functionArn"`
	Version          string        `pulumi:"version"`
	PreviousVersion  *string       `pulumi:"previousVersion,optional"`
	PreviousImageURI *string       `pulumi:"previousImageUri,optional"`
	AliasArn         *string       `pulumi:"aliasArn,optional"`
	Verification     *Verification `pulumi:"verification,optional"`
	Findings         []Finding     `pulumi:"findings"`
	ManagedFunction  bool          `pulumi:"managedFunction,optional"`
	ManagedAlias     bool          `pulumi:"managedAlias,optional"`
	LastFailure      *Failure      `pulumi:"lastFailure,optional"`
}

func (s *State) Annotate(an infer.Annotator) {
	an.Describe(&s.ImageURI, "The image the function runs, pinned by digest: `<repositoryUri>@sha256:...`. Lambda accepts this form, and it never drifts when a tag moves.")
	an.Describe(&s.ImageDigest, "The image manifest's digest, `sha256:...`.")
	an.Describe(&s.ContentTag, "The image's content tag, `src-<source hash>-<build inputs hash>`: a later deployment of the same source and build inputs finds it in ECR and builds nothing.")
	an.Describe(&s.ImageSizeBytes, "The image's compressed size in bytes: its config and layers.")
	an.Describe(&s.ImagePlatform, "The platform the image was built for, `linux/amd64` or `linux/arm64`: the function's architecture.")
	an.Describe(&s.FunctionArn, "The function's unqualified ARN.")
	an.Describe(&s.Version, "The version published for this image and verified.")
	an.Describe(&s.PreviousVersion, "The version that served before this deployment (through the alias, or the newest published one), the rollback target.")
	an.Describe(&s.PreviousImageURI, "The image the function ran before this deployment.")
	an.Describe(&s.AliasArn, "The ARN of the alias that was moved, when `alias` is set.")
	an.Describe(&s.Verification, "What the verification of the new version observed.")
	an.Describe(&s.Findings, "The preflight analysis findings for the source and the Dockerfile (warnings included).")
	an.Describe(&s.ManagedFunction, "Whether this resource created the function (from `functionSettings`); destroying the resource then deletes it.")
	an.Describe(&s.ManagedAlias, "Whether this resource created the alias; destroying the resource then deletes it.")
	an.Describe(&s.LastFailure, "The last deployment attempt that failed, when the outputs still describe the deployment before it; cleared by the next success.")
}

// Failure records a deployment attempt that failed.
type Failure struct {
	Step     string  `pulumi:"step"`
	Message  string  `pulumi:"message"`
	ImageURI *string `pulumi:"imageUri,optional"`
	Version  *string `pulumi:"version,optional"`
}

func (f *Failure) Annotate(an infer.Annotator) {
	an.Describe(&f.Step, "The step that failed: `analyze`, `build`, `push`, `prove` (the Lambda-compatibility check of the pushed image), `roll`, `wait`, `publish` (the version), `verify` or `promote`.")
	an.Describe(&f.Message, "What went wrong, with the cause and the fix.")
	an.Describe(&f.ImageURI, "The image the attempt built, if it got that far.")
	an.Describe(&f.Version, "The version the attempt published, if it got that far.")
}

// Verification records what the smoke test of a version observed.
type Verification struct {
	Version         string   `pulumi:"version"`
	Status          int      `pulumi:"status"`
	DurationMs      float64  `pulumi:"durationMs"`
	BilledMs        int      `pulumi:"billedMs"`
	InitDurationMs  *float64 `pulumi:"initDurationMs,optional"`
	MaxMemoryUsedMb int      `pulumi:"maxMemoryUsedMb"`
	LogExcerpt      string   `pulumi:"logExcerpt"`
	LogErrors       []string `pulumi:"logErrors,optional"`
}

func (v *Verification) Annotate(an infer.Annotator) {
	an.Describe(&v.Version, "The version that was invoked.")
	an.Describe(&v.Status, "The response's status code (the `statusCode` of an HTTP response, or 200 for a plain invocation).")
	an.Describe(&v.DurationMs, "The invocation's duration, from its `REPORT` log line.")
	an.Describe(&v.BilledMs, "The billed duration, from the `REPORT` line.")
	an.Describe(&v.InitDurationMs, "The cold start's init duration, from the `REPORT` line; absent on a warm start.")
	an.Describe(&v.MaxMemoryUsedMb, "The peak memory used, from the `REPORT` line.")
	an.Describe(&v.LogExcerpt, "The tail of the invocation's log.")
	an.Describe(&v.LogErrors, "Error lines found in the function's logs during the log window.")
}

// Finding is one result of the preflight analysis.
type Finding struct {
	Severity string  `pulumi:"severity"`
	Code     string  `pulumi:"code"`
	Message  string  `pulumi:"message"`
	File     *string `pulumi:"file,optional"`
	Line     *int    `pulumi:"line,optional"`
	Fix      *string `pulumi:"fix,optional"`
}

func (f *Finding) Annotate(an infer.Annotator) {
	an.Describe(&f.Severity, "`error`, `warning` or `info`.")
	an.Describe(&f.Code, "A stable identifier of the kind of finding, such as `missing-requirement`.")
	an.Describe(&f.Message, "What is wrong.")
	an.Describe(&f.File, "The file, relative to the context.")
	an.Describe(&f.Line, "The line in that file, from 1.")
	an.Describe(&f.Fix, "How to fix it.")
}
