// Package rollout owns the Lambda side of a deployment: it finds the function
// (by name, ARN or CloudFormation stack output), creates one when the
// deployment owns it, points it at an image by digest and waits until the
// update settles (stopping at once when it fails), publishes versions, moves
// aliases, and deletes versions that fell out of the rollback window.
package rollout

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// API is the part of the Lambda client this package calls.
type API interface {
	lambda.GetFunctionAPIClient
	lambda.GetFunctionConfigurationAPIClient
	lambda.ListVersionsByFunctionAPIClient
	CreateFunction(context.Context, *lambda.CreateFunctionInput, ...func(*lambda.Options)) (*lambda.CreateFunctionOutput, error)
	DeleteFunction(context.Context, *lambda.DeleteFunctionInput, ...func(*lambda.Options)) (*lambda.DeleteFunctionOutput, error)
	UpdateFunctionCode(context.Context, *lambda.UpdateFunctionCodeInput, ...func(*lambda.Options)) (*lambda.UpdateFunctionCodeOutput, error)
	PublishVersion(context.Context, *lambda.PublishVersionInput, ...func(*lambda.Options)) (*lambda.PublishVersionOutput, error)
	GetAlias(context.Context, *lambda.GetAliasInput, ...func(*lambda.Options)) (*lambda.GetAliasOutput, error)
	CreateAlias(context.Context, *lambda.CreateAliasInput, ...func(*lambda.Options)) (*lambda.CreateAliasOutput, error)
	UpdateAlias(context.Context, *lambda.UpdateAliasInput, ...func(*lambda.Options)) (*lambda.UpdateAliasOutput, error)
	DeleteAlias(context.Context, *lambda.DeleteAliasInput, ...func(*lambda.Options)) (*lambda.DeleteAliasOutput, error)
	ListAliases(context.Context, *lambda.ListAliasesInput, ...func(*lambda.Options)) (*lambda.ListAliasesOutput, error)
}

// Function is a Lambda function as a deployment sees it.
type Function struct {
	Name         string
	Arn          string // unqualified
	Architecture string // x86_64 or arm64
	// ImageURI is what the function was given; ResolvedImageURI is the
	// digest Lambda pinned it to (repo@sha256:...).
	ImageURI, ResolvedImageURI string
	RevisionID                 string
	Environment                map[string]string
	LogGroup                   string
	MemoryMB, TimeoutSeconds   int32
}

// Digest is the sha256:... the function runs, from ResolvedImageURI.
func (f Function) Digest() string { return digestOf(f.ResolvedImageURI) }

func digestOf(uri string) string {
	if _, d, ok := strings.Cut(uri, "@"); ok {
		return d
	}
	return ""
}

// Settings describe a function the deployment creates and owns.
type Settings struct {
	Role           string
	MemoryMB       int32
	TimeoutSeconds int32
	Environment    map[string]string
	Architecture   string // x86_64 (default) or arm64
	Tags           map[string]string
}

// Client runs Lambda operations, reporting waits through Progress.
type Client struct {
	API API
	// Progress receives a line when a wait starts (for a status line).
	Progress func(string)
	// MaxWait bounds each wait for an update or a version to settle.
	MaxWait time.Duration
}

// NotFound says a function, stack or output doesn't exist.
var NotFound = errors.New("not found")

func (c *Client) say(format string, a ...any) {
	if c.Progress != nil {
		c.Progress(fmt.Sprintf(format, a...))
	}
}

func (c *Client) maxWait() time.Duration {
	if c.MaxWait > 0 {
		return c.MaxWait
	}
	return 15 * time.Minute // large images take minutes to become Successful
}

// Find reads the function, first waiting for an update in progress (by
// anyone) to settle, so that its RevisionId is current. A missing function is
// an error wrapping NotFound.
func (c *Client) Find(ctx context.Context, name string) (Function, error) {
	out, err := c.API.GetFunction(ctx, &lambda.GetFunctionInput{FunctionName: &name})
	var missing *types.ResourceNotFoundException
	if errors.As(err, &missing) {
		return Function{}, fmt.Errorf("lambda function %q: %w", name, NotFound)
	}
	if err != nil {
		return Function{}, fmt.Errorf("reading lambda function %q: %w", name, err)
	}
	if out.Configuration != nil && (out.Configuration.State == types.StatePending || out.Configuration.LastUpdateStatus == types.LastUpdateStatusInProgress) {
		c.say("waiting for function %s to finish an update in progress", name)
		if out, err = c.waitUpdated(ctx, name); err != nil && !errors.As(err, new(*UpdateFailed)) {
			return Function{}, err
		}
	}
	if out.Configuration.PackageType != types.PackageTypeImage {
		return Function{}, fmt.Errorf("lambda function %q has PackageType %s: this provider deploys container images only; "+
			"create the function with PackageType Image (or let this resource create it with functionSettings)", name, out.Configuration.PackageType)
	}
	return function(out), nil
}

func function(out *lambda.GetFunctionOutput) Function {
	cfg := out.Configuration
	f := Function{
		Name: aws.ToString(cfg.FunctionName), Arn: unqualified(aws.ToString(cfg.FunctionArn)), Architecture: "x86_64",
		RevisionID: aws.ToString(cfg.RevisionId), MemoryMB: aws.ToInt32(cfg.MemorySize), TimeoutSeconds: aws.ToInt32(cfg.Timeout),
		LogGroup: "/aws/lambda/" + aws.ToString(cfg.FunctionName),
	}
	if len(cfg.Architectures) > 0 {
		f.Architecture = string(cfg.Architectures[0])
	}
	if cfg.Environment != nil {
		f.Environment = cfg.Environment.Variables
	}
	if cfg.LoggingConfig != nil && aws.ToString(cfg.LoggingConfig.LogGroup) != "" {
		f.LogGroup = aws.ToString(cfg.LoggingConfig.LogGroup)
	}
	if out.Code != nil {
		f.ImageURI, f.ResolvedImageURI = aws.ToString(out.Code.ImageUri), aws.ToString(out.Code.ResolvedImageUri)
	}
	return f
}

// unqualified drops a version or alias from a function ARN.
func unqualified(arn string) string {
	if parts := strings.Split(arn, ":"); len(parts) > 7 {
		return strings.Join(parts[:7], ":")
	}
	return arn
}

// FromStack reads a function name or ARN from a CloudFormation stack output.
func FromStack(ctx context.Context, api cloudformation.DescribeStacksAPIClient, stack, key string) (string, error) {
	out, err := api.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: &stack})
	if err != nil {
		if strings.Contains(err.Error(), "does not exist") {
			return "", fmt.Errorf("functionFromStack: CloudFormation stack %q: %w; check stackName and the provider's region", stack, NotFound)
		}
		return "", fmt.Errorf("functionFromStack: reading CloudFormation stack %q: %w", stack, err)
	}
	var keys []string
	for _, s := range out.Stacks {
		for _, o := range s.Outputs {
			if aws.ToString(o.OutputKey) == key {
				return aws.ToString(o.OutputValue), nil
			}
			keys = append(keys, aws.ToString(o.OutputKey))
		}
	}
	slices.Sort(keys)
	return "", fmt.Errorf("functionFromStack: stack %q has no output %q (its outputs: %s): %w; set outputKey to the output that holds the function's name or ARN",
		stack, key, strings.Join(keys, ", "), NotFound)
}

// Create makes a function on imageURI with the settings, and waits until it
// is Active. When the function was made but never became Active, it returns
// the function (its Arn set) with the error: it exists, and whoever asked
// for it owns it.
func (c *Client) Create(ctx context.Context, name, imageURI string, s Settings) (Function, error) {
	arch := types.ArchitectureX8664
	if s.Architecture == "arm64" {
		arch = types.ArchitectureArm64
	}
	in := &lambda.CreateFunctionInput{
		FunctionName: &name, Role: &s.Role, PackageType: types.PackageTypeImage,
		Code: &types.FunctionCode{ImageUri: &imageURI}, Architectures: []types.Architecture{arch}, Tags: s.Tags,
	}
	if s.MemoryMB > 0 {
		in.MemorySize = &s.MemoryMB
	}
	if s.TimeoutSeconds > 0 {
		in.Timeout = &s.TimeoutSeconds
	}
	if len(s.Environment) > 0 {
		in.Environment = &types.Environment{Variables: s.Environment}
	}
	made, err := c.API.CreateFunction(ctx, in)
	if err != nil {
		return Function{}, fmt.Errorf("creating lambda function %q: %w", name, err)
	}
	c.say("waiting for the new function %s to become Active", name)
	out, err := lambda.NewFunctionActiveV2Waiter(c.API, func(o *lambda.FunctionActiveV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = 200*time.Millisecond, 5*time.Second
		o.Retryable = func(ctx context.Context, in *lambda.GetFunctionInput, out *lambda.GetFunctionOutput, err error) (bool, error) {
			if err != nil {
				return false, err
			}
			switch cfg := out.Configuration; cfg.State {
			case types.StateActive:
				return false, nil
			case types.StateFailed:
				return false, &UpdateFailed{Function: name, Image: imageURI, Code: string(cfg.StateReasonCode), Reason: aws.ToString(cfg.StateReason)}
			}
			return true, nil
		}
	}).WaitForOutput(ctx, &lambda.GetFunctionInput{FunctionName: &name}, c.maxWait())
	if err != nil {
		return Function{Name: name, Arn: unqualified(aws.ToString(made.FunctionArn)), Architecture: string(arch),
			ImageURI: imageURI, LogGroup: "/aws/lambda/" + name}, waiting(err)
	}
	return function(out), nil
}

// UpdateFailed is an update (or a create) that Lambda settled as Failed.
type UpdateFailed struct {
	Function, Image, Code, Reason string
}

func (e *UpdateFailed) Error() string {
	return fmt.Sprintf("lambda could not update function %s to %s: %s: %s", e.Function, e.Image, e.Code, e.Reason)
}

// WaitError is a wait for Lambda that ended without an outcome: the
// function or version was still settling when the wait failed (an API
// error, a timeout, a cancellation).
type WaitError struct{ Err error }

func (e *WaitError) Error() string { return e.Err.Error() }
func (e *WaitError) Unwrap() error { return e.Err }

// waiting wraps a waiter's error, unless it is an outcome (*UpdateFailed).
func waiting(err error) error {
	if err == nil || errors.As(err, new(*UpdateFailed)) {
		return err
	}
	return &WaitError{err}
}

// waitUpdated waits until LastUpdateStatus is Successful, stopping at once on
// Failed with an *UpdateFailed that carries the reason code; any other
// failure is a *WaitError.
func (c *Client) waitUpdated(ctx context.Context, name string) (*lambda.GetFunctionOutput, error) {
	var last *lambda.GetFunctionOutput
	out, err := lambda.NewFunctionUpdatedV2Waiter(c.API, func(o *lambda.FunctionUpdatedV2WaiterOptions) {
		o.MinDelay, o.MaxDelay = 200*time.Millisecond, 5*time.Second
		o.Retryable = func(ctx context.Context, in *lambda.GetFunctionInput, out *lambda.GetFunctionOutput, err error) (bool, error) {
			if err != nil {
				return false, err
			}
			last = out
			switch cfg := out.Configuration; cfg.LastUpdateStatus {
			case types.LastUpdateStatusSuccessful:
				return false, nil
			case types.LastUpdateStatusFailed:
				image := ""
				if out.Code != nil {
					image = aws.ToString(out.Code.ImageUri)
				}
				return false, &UpdateFailed{Function: name, Image: image, Code: string(cfg.LastUpdateStatusReasonCode), Reason: aws.ToString(cfg.LastUpdateStatusReason)}
			}
			return true, nil
		}
	}).WaitForOutput(ctx, &lambda.GetFunctionInput{FunctionName: &name}, c.maxWait())
	if err != nil && last != nil && errors.As(err, new(*UpdateFailed)) {
		return last, err
	}
	if err != nil && ctx.Err() == nil && !errors.As(err, new(*UpdateFailed)) && strings.Contains(err.Error(), "exceeded max wait time") {
		return nil, waiting(fmt.Errorf("function %s was still updating after %s: %w", name, c.maxWait(), err))
	}
	return out, waiting(err)
}

// Point sets the function's code to imageURI (repo@sha256:..., never a tag),
// guarded by the RevisionId Find read, and waits until the update settles.
func (c *Client) Point(ctx context.Context, fn Function, imageURI string) (Function, error) {
	if digestOf(imageURI) == "" {
		return Function{}, fmt.Errorf("refusing to point function %s at %s: images are deployed by digest (repo@sha256:...), never by tag", fn.Name, imageURI)
	}
	_, err := c.API.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: &fn.Name, ImageUri: &imageURI, RevisionId: nilIfEmpty(fn.RevisionID)})
	var stale *types.PreconditionFailedException
	if errors.As(err, &stale) {
		// Someone changed the function since Find, or a retried request had
		// already gone through: only the second is ours to accept.
		now, ferr := c.Find(ctx, fn.Name)
		if ferr != nil || now.ImageURI != imageURI {
			return Function{}, fmt.Errorf("function %s changed while this deployment was updating it (its RevisionId moved): %w; "+
				"Fix: run pulumi up again once the other change is done", fn.Name, err)
		}
	} else if err != nil {
		return Function{}, fmt.Errorf("updating the code of function %s: %w", fn.Name, err)
	}
	c.say("waiting for function %s to run %s", fn.Name, imageURI)
	out, err := c.waitUpdated(ctx, fn.Name)
	if err != nil {
		return Function{}, err
	}
	return function(out), nil
}

func nilIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Publish publishes $LATEST as a version (guarded by the RevisionId and the
// code digest just rolled) and waits until it is Active.
func (c *Client) Publish(ctx context.Context, fn Function, description string) (string, error) {
	sha := strings.TrimPrefix(fn.Digest(), "sha256:")
	out, err := c.API.PublishVersion(ctx, &lambda.PublishVersionInput{FunctionName: &fn.Name, RevisionId: nilIfEmpty(fn.RevisionID),
		CodeSha256: nilIfEmpty(sha), Description: nilIfEmpty(description)})
	if err != nil {
		return "", fmt.Errorf("publishing a version of function %s: %w", fn.Name, err)
	}
	version := aws.ToString(out.Version)
	if out.State == types.StateActive {
		return version, nil
	}
	c.say("waiting for version %s of %s to become Active", version, fn.Name)
	err = lambda.NewPublishedVersionActiveWaiter(c.API, func(o *lambda.PublishedVersionActiveWaiterOptions) {
		o.MinDelay, o.MaxDelay = 200*time.Millisecond, 5*time.Second
	}).Wait(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: &fn.Name, Qualifier: &version}, c.maxWait())
	if err != nil {
		return "", waiting(fmt.Errorf("version %s of function %s did not become Active: %w", version, fn.Name, err))
	}
	return version, nil
}

// Alias is where an alias points; Version is "" when the alias doesn't exist.
type Alias struct {
	Name, Version, Arn, RevisionID string
}

// GetAlias reads an alias.
func (c *Client) GetAlias(ctx context.Context, fn Function, name string) (Alias, error) {
	out, err := c.API.GetAlias(ctx, &lambda.GetAliasInput{FunctionName: &fn.Name, Name: &name})
	if errors.As(err, new(*types.ResourceNotFoundException)) {
		return Alias{Name: name}, nil
	}
	if err != nil {
		return Alias{}, fmt.Errorf("reading alias %s of function %s: %w", name, fn.Name, err)
	}
	return Alias{Name: name, Version: aws.ToString(out.FunctionVersion), Arn: aws.ToString(out.AliasArn), RevisionID: aws.ToString(out.RevisionId)}, nil
}

// MoveAlias points the alias at version, creating it when it doesn't exist
// (created then says so). It clears any weighted routing.
func (c *Client) MoveAlias(ctx context.Context, fn Function, name, version string) (a Alias, created bool, err error) {
	cur, err := c.GetAlias(ctx, fn, name)
	if err != nil {
		return Alias{}, false, err
	}
	if cur.Version == "" {
		out, err := c.API.CreateAlias(ctx, &lambda.CreateAliasInput{FunctionName: &fn.Name, Name: &name, FunctionVersion: &version})
		if err != nil {
			return Alias{}, false, fmt.Errorf("creating alias %s of function %s: %w", name, fn.Name, err)
		}
		return Alias{Name: name, Version: version, Arn: aws.ToString(out.AliasArn), RevisionID: aws.ToString(out.RevisionId)}, true, nil
	}
	out, err := c.API.UpdateAlias(ctx, &lambda.UpdateAliasInput{FunctionName: &fn.Name, Name: &name, FunctionVersion: &version,
		RevisionId: nilIfEmpty(cur.RevisionID), RoutingConfig: &types.AliasRoutingConfiguration{AdditionalVersionWeights: map[string]float64{}}})
	if err != nil {
		return Alias{}, false, fmt.Errorf("moving alias %s of function %s to version %s: %w", name, fn.Name, version, err)
	}
	return Alias{Name: name, Version: version, Arn: aws.ToString(out.AliasArn), RevisionID: aws.ToString(out.RevisionId)}, false, nil
}

// DeleteAlias removes an alias; a missing one is not an error.
func (c *Client) DeleteAlias(ctx context.Context, fn Function, name string) error {
	_, err := c.API.DeleteAlias(ctx, &lambda.DeleteAliasInput{FunctionName: &fn.Name, Name: &name})
	if err != nil && !errors.As(err, new(*types.ResourceNotFoundException)) {
		return fmt.Errorf("deleting alias %s of function %s: %w", name, fn.Name, err)
	}
	return nil
}

// Delete deletes the function with all its versions and aliases; a missing
// one is not an error.
func (c *Client) Delete(ctx context.Context, name string) error {
	_, err := c.API.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: &name})
	if err != nil && !errors.As(err, new(*types.ResourceNotFoundException)) {
		return fmt.Errorf("deleting lambda function %s: %w", name, err)
	}
	return nil
}

// Version is a published version and the image digest it froze.
type Version struct {
	Number int
	Digest string
}

// References is what a function's code refers to: $LATEST's digest, every
// version's, and the versions every alias routes to.
type References struct {
	Latest   string
	Versions []Version      // oldest first
	Aliases  map[string]int // alias name -> version ($LATEST: 0)
	// Weighted holds the versions aliases route a share of traffic to.
	Weighted []int
}

// Refs lists the function's versions and aliases.
func (c *Client) Refs(ctx context.Context, fn Function) (References, error) {
	r := References{Latest: fn.Digest(), Aliases: map[string]int{}}
	for pager := lambda.NewListVersionsByFunctionPaginator(c.API, &lambda.ListVersionsByFunctionInput{FunctionName: &fn.Name}); pager.HasMorePages(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return References{}, fmt.Errorf("listing the versions of function %s: %w", fn.Name, err)
		}
		for _, v := range page.Versions {
			n, err := strconv.Atoi(aws.ToString(v.Version))
			if err != nil {
				continue // $LATEST
			}
			r.Versions = append(r.Versions, Version{Number: n, Digest: "sha256:" + aws.ToString(v.CodeSha256)})
		}
	}
	slices.SortFunc(r.Versions, func(a, b Version) int { return a.Number - b.Number })
	for pager := lambda.NewListAliasesPaginator(c.API, &lambda.ListAliasesInput{FunctionName: &fn.Name}); pager.HasMorePages(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return References{}, fmt.Errorf("listing the aliases of function %s: %w", fn.Name, err)
		}
		for _, a := range page.Aliases {
			n, _ := strconv.Atoi(aws.ToString(a.FunctionVersion))
			r.Aliases[aws.ToString(a.Name)] = n
			if a.RoutingConfig != nil {
				for v := range a.RoutingConfig.AdditionalVersionWeights {
					if w, err := strconv.Atoi(v); err == nil {
						r.Weighted = append(r.Weighted, w)
					}
				}
			}
		}
	}
	return r, nil
}

// Window splits the published versions into those to keep (the newest keep,
// and any an alias routes to) and those to delete.
func (r References) Window(keep int) (kept, stale []Version) {
	pinned := map[int]bool{}
	for _, v := range r.Aliases {
		pinned[v] = true
	}
	for _, v := range r.Weighted {
		pinned[v] = true
	}
	for i, v := range r.Versions {
		if i >= len(r.Versions)-keep || pinned[v.Number] {
			kept = append(kept, v)
		} else {
			stale = append(stale, v)
		}
	}
	return kept, stale
}

// InUse is the set of image digests the function still needs once the stale
// versions are gone: $LATEST's and every kept version's.
func (r References) InUse(kept []Version) map[string]bool {
	use := map[string]bool{}
	if r.Latest != "" {
		use[r.Latest] = true
	}
	for _, v := range kept {
		use[v.Digest] = true
	}
	return use
}

// DeleteVersions deletes published versions; a missing one is not an error.
func (c *Client) DeleteVersions(ctx context.Context, fn Function, versions []Version) error {
	for _, v := range versions {
		q := strconv.Itoa(v.Number)
		_, err := c.API.DeleteFunction(ctx, &lambda.DeleteFunctionInput{FunctionName: &fn.Name, Qualifier: &q})
		if err != nil && !errors.As(err, new(*types.ResourceNotFoundException)) {
			return fmt.Errorf("deleting version %s of function %s: %w", q, fn.Name, err)
		}
	}
	return nil
}
