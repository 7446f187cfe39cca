package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"

	"github.com/lambdacontainer/pulumi-lambdacontainer/internal/analyze"
	"github.com/lambdacontainer/pulumi-lambdacontainer/internal/build"
	"github.com/lambdacontainer/pulumi-lambdacontainer/internal/diagnose"
	"github.com/lambdacontainer/pulumi-lambdacontainer/internal/ecr"
	"github.com/lambdacontainer/pulumi-lambdacontainer/internal/rollout"
	"github.com/lambdacontainer/pulumi-lambdacontainer/internal/source"
	"github.com/lambdacontainer/pulumi-lambdacontainer/internal/verify"
)

// run is one deployment in progress: its clients, what the function looked
// like before, and the state recorded so far.
type run struct {
	ctx      context.Context
	log      p.Logger
	cfg      *Config
	args     Args
	prev     *State
	aws      awsClients
	lambda   *rollout.Client
	registry *ecr.Client

	fn       rollout.Function // as it is now
	before   rollout.Function // as it was before this deployment ("" image: created by it)
	alias    rollout.Alias    // the alias before this deployment
	img      published
	result   verify.Result
	st       State
	touched  bool // a side effect happened: failures return a partial state
	rolled   bool // the function was asked to run the new image
	findings []analyze.Finding
	started  time.Time
	timeout  time.Duration // the resource's custom timeout; 0: none
	timings  []string      // "step 0.4 s", for the summary line
}

// took records how long a step took: defer r.took("roll", time.Now()).
func (r *run) took(step string, since time.Time) {
	r.timings = append(r.timings, fmt.Sprintf("%s %.1f s", step, time.Since(since).Seconds()))
}

// start connects to AWS, finds the function (or learns that it must create
// it), and carries the previous deployment's outputs over.
func start(ctx context.Context, cfg *Config, args Args, prev *State) (*run, error) {
	clients, err := cfg.clients(ctx)
	if err != nil {
		return nil, err
	}
	r := &run{ctx: ctx, log: p.GetLogger(ctx), cfg: cfg, args: args, prev: prev, aws: clients, registry: ecr.New(clients.ecr), started: time.Now()}
	r.lambda = &rollout.Client{API: clients.lambda, Progress: r.log.InfoStatus}
	if deadline, ok := ctx.Deadline(); ok {
		r.timeout = time.Until(deadline).Round(time.Second)
	}
	if prev != nil {
		r.st = *prev
		r.st.LastFailure = nil
	}
	r.st.Args = args
	name, err := targetFunction(ctx, clients, args)
	if err != nil {
		return nil, err
	}
	r.log.InfoStatus("resolve: reading function " + name)
	r.fn, err = r.lambda.Find(ctx, name)
	switch {
	case errors.Is(err, rollout.NotFound) && args.FunctionSettings != nil:
		r.fn = rollout.Function{Name: name, Architecture: settingsArch(args.FunctionSettings),
			Environment: args.FunctionSettings.Environment, MemoryMB: int32(deref(args.FunctionSettings.MemoryMb)),
			TimeoutSeconds: int32(deref(args.FunctionSettings.TimeoutSeconds))}
	case errors.Is(err, rollout.NotFound):
		return nil, fmt.Errorf("function: %w; create it first (PackageType Image), fix the name, or set functionSettings to let this resource create it", err)
	case err != nil:
		return nil, err
	}
	r.before = r.fn
	if args.Alias != nil && r.fn.Arn != "" {
		if r.alias, err = r.lambda.GetAlias(ctx, r.fn, *args.Alias); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// targetFunction is the function input, or the CloudFormation output that names it.
func targetFunction(ctx context.Context, c awsClients, a Args) (string, error) {
	if a.FunctionFromStack != nil {
		return rollout.FromStack(ctx, c.cfn, a.FunctionFromStack.StackName, a.FunctionFromStack.OutputKey)
	}
	return deref(a.Function), nil
}

func settingsArch(s *FunctionSettings) string {
	if len(s.Architectures) == 1 && s.Architectures[0] == "arm64" {
		return "arm64"
	}
	return "x86_64"
}

// analyze runs the preflight analysis again, now that the function's
// environment is known, and records the findings.
func (r *run) analyze() error {
	defer r.took("analyze", time.Now())
	r.log.InfoStatus("analyze: checking the Python source and the Dockerfile")
	tree, err := source.Hash(r.ctx, source.Options{Context: r.args.Context, Dockerfile: deref(r.args.Dockerfile), Triggers: r.args.Triggers})
	if err != nil {
		return err
	}
	env := r.fn.Environment
	if env == nil {
		env = map[string]string{}
	}
	if r.findings, err = preflight(r.ctx, r.args, tree, env); err != nil {
		return err
	}
	r.st.Findings = []Finding{}
	var errs []string
	for _, f := range r.findings {
		r.st.Findings = append(r.st.Findings, Finding{Severity: f.Severity, Code: f.Code, Message: f.Message,
			File: optional(f.File), Line: optional(f.Line), Fix: optional(f.Fix)})
		if f.Severity == "error" && analysisMode(r.args) == "error" {
			errs = append(errs, describeFinding(f))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("the preflight analysis found %d error(s) (set analysis: warn to deploy anyway):\n  %s", len(errs), strings.Join(errs, "\n  "))
	}
	return nil
}

func optional[T comparable](v T) *T {
	var zero T
	if v == zero {
		return nil
	}
	return &v
}

// publish builds and pushes the image (unless its content tag is in ECR),
// proves that Lambda accepts it, and tags it as used by the function.
func (r *run) publish() (published, error) {
	defer r.took("build and push", time.Now())
	img, err := publish(r.ctx, r.cfg, r.registry, r.args, r.fn.Architecture, r.before.ResolvedImageURI)
	if err != nil {
		return published{}, err
	}
	r.img = img
	r.touched = r.touched || img.Built || img.Repository.Created
	r.st.ImageURI, r.st.ImageDigest = img.Image.Ref, img.Image.Digest
	r.st.ContentTag = img.Tag
	r.st.ImageSizeBytes = int(img.Image.Size)
	r.st.ImagePlatform = img.Platform
	if r.fn.Arn != "" {
		if err := r.registry.Reference(r.ctx, img.Repository, r.fn.Arn, img.Image.Digest); err != nil {
			return published{}, inStep("push", err)
		}
	}
	return img, nil
}

// roll points the function at the image by digest (creating the function
// when this resource owns it), waits until the update settles, and publishes
// a version.
func (r *run) roll(img published) (string, error) {
	defer r.took("roll", time.Now())
	r.touched, r.rolled = true, true
	if r.fn.Arn == "" {
		s := r.args.FunctionSettings
		r.log.InfoStatus("roll: creating function " + r.fn.Name)
		fn, err := r.lambda.Create(r.ctx, r.fn.Name, img.Image.Ref, rollout.Settings{Role: s.Role, MemoryMB: int32(deref(s.MemoryMb)),
			TimeoutSeconds: int32(deref(s.TimeoutSeconds)), Environment: s.Environment, Architecture: settingsArch(s)})
		if fn.Arn != "" { // created, even if it never became Active: this resource owns it, and Delete deletes it
			r.fn, r.st.FunctionArn, r.st.ManagedFunction = fn, fn.Arn, true
			if rerr := r.registry.Reference(r.ctx, img.Repository, r.fn.Arn, img.Image.Digest); rerr != nil && err == nil {
				return "", inStep("push", rerr)
			}
		}
		if err != nil {
			return "", r.explain(err)
		}
	} else if r.fn.Digest() != img.Image.Digest {
		r.log.InfoStatus("roll: pointing " + r.fn.Name + " at " + img.Image.Ref)
		fn, err := r.lambda.Point(r.ctx, r.fn, img.Image.Ref)
		if err != nil {
			return "", r.explain(err)
		}
		r.fn = fn
	}
	r.st.FunctionArn = r.fn.Arn
	r.log.InfoStatus("roll: publishing a version of " + r.fn.Name)
	version, err := r.lambda.Publish(r.ctx, r.fn, "lambdacontainer "+img.Tag)
	if err != nil {
		return "", inStep("publish", err)
	}
	return version, nil
}

// explain adds the diagnosis to a failed update.
func (r *run) explain(err error) error {
	var failed *rollout.UpdateFailed
	if !errors.As(err, &failed) {
		return err
	}
	if d, ok := diagnose.Explain(failed.Code+": "+failed.Reason, diagnose.Facts{Architecture: r.fn.Architecture}); ok {
		return fmt.Errorf("%w\n%s", err, d)
	}
	return err
}

// failedCheck is a verification that ran and saw the new version fail.
type failedCheck struct{ reason string }

func (e *failedCheck) Error() string { return e.reason }

// verify invokes the new version and checks it, recording what it saw: a
// *failedCheck when the version failed, another error when it could not
// be checked.
func (r *run) verify(version string) error {
	defer r.took("verify", time.Now())
	c := verify.Check{Timeout: time.Minute, LogWindow: 10 * time.Second, FailOnLogErrors: true}
	if v := r.args.Verify; v != nil {
		if v.HTTP != nil {
			c.HTTP = &verify.Request{Method: deref(v.HTTP.Method), Path: v.HTTP.Path, Headers: v.HTTP.Headers, Body: deref(v.HTTP.Body)}
		}
		if v.Event != nil {
			c.Event = []byte(*v.Event)
		}
		c.ExpectStatus, c.ExpectBodyContains, c.URL = deref(v.ExpectStatus), deref(v.ExpectBodyContains), deref(v.URL)
		if v.TimeoutSeconds != nil {
			c.Timeout = time.Duration(*v.TimeoutSeconds) * time.Second
		}
		if v.LogWindowSeconds != nil {
			c.LogWindow = time.Duration(*v.LogWindowSeconds) * time.Second
		}
		if v.FailOnLogErrors != nil {
			c.FailOnLogErrors = *v.FailOnLogErrors
		}
	}
	r.log.InfoStatus(fmt.Sprintf("verify: invoking version %s of %s", version, r.fn.Name))
	res, err := verify.Run(r.ctx, r.aws.lambda, r.aws.logs, r.fn.Name, version, r.fn.LogGroup, c)
	if err != nil {
		return err
	}
	r.result = res
	v := &Verification{Version: version, Status: res.Status, DurationMs: res.Report.DurationMs, BilledMs: int(res.Report.BilledMs),
		MaxMemoryUsedMb: res.Report.MaxMemoryUsedMB, LogExcerpt: res.LogExcerpt, LogErrors: res.LogErrors}
	if res.Report.Cold {
		v.InitDurationMs = &res.Report.InitDurationMs
	}
	r.st.Verification = v
	if res.Passed() {
		init := "warm start"
		if res.Report.Cold {
			init = fmt.Sprintf("init %.0f ms", res.Report.InitDurationMs)
		}
		r.log.Infof("verified version %s of %s: status %d in %.0f ms (%s, %d MB used)", version, r.fn.Name, res.Status, res.Report.DurationMs, init, res.Report.MaxMemoryUsedMB)
		return nil
	}
	return &failedCheck{res.Failure}
}

// promote moves the alias to the verified version and records the deployment.
func (r *run) promote(version string) error {
	defer r.took("promote", time.Now())
	r.st.PreviousVersion, r.st.PreviousImageURI = nil, nil
	if r.prev != nil && r.prev.Version != "" && r.prev.Version != version {
		r.st.PreviousVersion = &r.prev.Version
	}
	if r.alias.Version != "" && r.alias.Version != version {
		r.st.PreviousVersion = &r.alias.Version
	}
	if r.before.ResolvedImageURI != "" && r.before.Digest() != r.img.Image.Digest {
		r.st.PreviousImageURI = &r.before.ResolvedImageURI
	}
	r.st.Version = version
	r.st.AliasArn = nil
	if r.args.Alias != nil {
		r.log.InfoStatus(fmt.Sprintf("promote: moving alias %s of %s to version %s", *r.args.Alias, r.fn.Name, version))
		a, created, err := r.lambda.MoveAlias(r.ctx, r.fn, *r.args.Alias, version)
		if err != nil {
			return err
		}
		r.st.AliasArn = &a.Arn
		r.st.ManagedAlias = created || (r.prev != nil && r.prev.ManagedAlias && r.prev.AliasArn != nil && *r.prev.AliasArn == a.Arn)
		if created {
			r.log.Infof("created alias %s of %s at version %s", *r.args.Alias, r.fn.Name, version)
		}
	}
	if len(r.args.ImageTags) > 0 { // they name verified images only; the deployment stands without them
		if err := r.registry.Tag(r.ctx, r.img.Repository, r.img.Image.Digest, r.args.ImageTags); err != nil {
			r.log.Warningf("imageTags: could not tag %s (the deployment stands; the next one tags again): %v", r.img.Image.Ref, clean(r.registry, err.Error()))
		} else {
			r.log.Infof("tagged %s as %s", r.img.Image.Ref, strings.Join(r.args.ImageTags, ", "))
		}
	}
	return nil
}

// rollBack ends a deployment whose new version failed verification, or
// could not be verified: it restores the previous image (with rollback on),
// deletes the failed version, leaves the alias where it was, and fails with
// the diagnosis. The state keeps the previous deployment's outputs and
// records the attempt.
func (r *run) rollBack(version string, err error) (State, error) {
	var msg string
	var check *failedCheck
	if errors.As(err, &check) {
		res := r.result
		facts := diagnose.Facts{Architecture: r.fn.Architecture, TimeoutSeconds: int(r.fn.TimeoutSeconds), MemoryMB: int(r.fn.MemoryMB),
			InitDurationMs: res.Report.InitDurationMs, MaxMemoryMB: res.Report.MaxMemoryUsedMB, LogErrors: res.LogErrors}
		msg = fmt.Sprintf("version %s of %s failed verification: %s", version, r.fn.Name, res.Failure)
		if d, ok := diagnose.Explain(res.Failure+"\n"+res.ErrorMessage+"\n"+res.LogExcerpt, facts); ok {
			msg += "\n" + d.String()
		}
		if res.LogExcerpt != "" {
			msg += "\nlog excerpt:\n  " + strings.ReplaceAll(clipTail(res.LogExcerpt, 1500), "\n", "\n  ")
		}
	} else {
		msg = fmt.Sprintf("version %s of %s could not be verified: %s", version, r.fn.Name, r.explainFailure(err))
	}
	msg += r.restore(version)
	if r.alias.Version != "" {
		msg += fmt.Sprintf("; alias %s still points at version %s", r.alias.Name, r.alias.Version)
	}
	return r.failState("verify", msg, version)
}

// restore points $LATEST back at the image it ran before this deployment
// and deletes the unverified version (if one was published), unless
// rollback is off. It runs on a context of its own, so that a cancelled
// update does not leave unverified code running. It says what it did.
func (r *run) restore(version string) string {
	if r.args.Rollback != nil && !*r.args.Rollback {
		return fmt.Sprintf("\nrollback is off: $LATEST keeps running %s", r.img.Image.Ref)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), 5*time.Minute)
	defer cancel()
	said := r.pointBack(ctx)
	if version != "" {
		if err := r.lambda.DeleteVersions(ctx, r.fn, []rollout.Version{{Number: atoi(version)}}); err != nil {
			r.log.Warningf("could not delete the failed version %s: %v", version, err)
		} else {
			said += fmt.Sprintf("; the failed version %s was deleted", version)
		}
	}
	return said
}

// pointBack points $LATEST back at the image it ran before this deployment,
// when it runs this deployment's image, and says what it did. A change
// someone else made meanwhile is left as it is.
func (r *run) pointBack(ctx context.Context) string {
	if r.before.ResolvedImageURI == "" {
		return "\nnothing to roll back to: the function had no image before this deployment"
	}
	var said string
	now, err := r.lambda.Find(ctx, r.fn.Name) // after the update in progress, if any, settled
	switch {
	case err != nil:
		said = fmt.Sprintf("\nthe rollback to %s failed too: %v", r.before.ResolvedImageURI, err)
	case now.Digest() == r.before.Digest():
		r.fn = now
		said = fmt.Sprintf("\n$LATEST still runs %s", r.before.ResolvedImageURI)
	case now.Digest() != r.img.Image.Digest:
		r.fn = now
		said = fmt.Sprintf("\n$LATEST runs %s, put there by another change meanwhile; this deployment left it as it is", now.ResolvedImageURI)
	default:
		r.log.InfoStatus("roll back: pointing " + r.fn.Name + " back at " + r.before.ResolvedImageURI)
		if now, err = r.lambda.Point(ctx, now, r.before.ResolvedImageURI); err != nil {
			said = fmt.Sprintf("\nthe rollback to %s failed too: %v", r.before.ResolvedImageURI, err)
		} else {
			r.fn = now
			said = fmt.Sprintf("\nrolled back: $LATEST runs %s again", r.before.ResolvedImageURI)
		}
	}
	return said
}

func atoi(s string) int {
	n := 0
	fmt.Sscan(s, &n)
	return n
}

func clipTail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// prune deletes the published versions beyond the rollback window that no
// alias routes to (only versions of images this deployment tagged), then
// releases this function's reference tags from images it no longer uses,
// deleting the images no function references. The deployment is done by
// then, so a failure here only warns; the next deployment prunes again.
func (r *run) prune() {
	start := time.Now()
	if err := r.pruneWindow(); err != nil {
		r.log.Warningf("pruning old versions and images failed, and the next deployment tries again: %v", clean(r.registry, err.Error()))
	}
	r.took("prune", start)
	r.log.InfoStatus(fmt.Sprintf("deployed version %s of %s (%s)", r.st.Version, r.fn.Name, r.img.Image.Ref))
	r.log.Infof("deployed version %s of %s in %.1f s: %s", r.st.Version, r.fn.Name, time.Since(r.started).Seconds(), strings.Join(r.timings, ", "))
}

func (r *run) pruneWindow() error {
	keep := 3
	if r.args.KeepVersions != nil {
		keep = *r.args.KeepVersions
	}
	r.log.InfoStatus("prune: keeping $LATEST, the aliases and the newest " + fmt.Sprint(keep) + " versions")
	refs, err := r.lambda.Refs(r.ctx, r.fn)
	if err != nil {
		return err
	}
	images, err := r.registry.Images(r.ctx, r.img.Repository)
	if err != nil {
		return err
	}
	ours := ecr.Referenced(images, r.fn.Arn)
	kept, stale := refs.Window(keep)
	var drop []rollout.Version
	for _, v := range stale {
		if ours[v.Digest] {
			drop = append(drop, v)
		} else {
			kept = append(kept, v)
		}
	}
	if err := r.lambda.DeleteVersions(r.ctx, r.fn, drop); err != nil {
		return err
	}
	deleted, err := r.registry.Release(r.ctx, r.img.Repository, images, r.fn.Arn, refs.InUse(kept))
	if err != nil {
		return err
	}
	if len(drop)+len(deleted) > 0 {
		r.log.Infof("pruned %d version(s) and %d image(s) outside the rollback window of %d", len(drop), len(deleted), keep)
	}
	return nil
}

// fail ends the deployment after a step failed: before any side effect the
// error alone (the state stays as it was), after one a partial state. A
// failure between pointing the function at the new image and verifying it
// restores the previous image.
func (r *run) fail(step string, err error) (State, error) {
	step = stepOf(step, err)
	msg := r.explainFailure(err)
	if r.rolled && step != "promote" {
		msg += r.restore("")
	}
	if !r.touched {
		return State{}, fmt.Errorf("%s: %s", step, clean(r.registry, msg))
	}
	return r.failState(step, msg, "")
}

// explainFailure is an error's message with its fix: the diagnosis, or what
// to do after a cancellation.
func (r *run) explainFailure(err error) string {
	msg := err.Error()
	if errors.Is(r.ctx.Err(), context.DeadlineExceeded) { // the resource's custom timeout passed
		last := err
		if retried := r.aws.retried.get(); retried != nil && errors.Is(err, context.DeadlineExceeded) {
			last = retried // what the call was still retrying when the deadline came
		}
		msg = fmt.Sprintf("timed out: the resource's custom timeout (%s) passed, the last error being: %s; the alias was not moved. "+
			"Fix: raise customTimeouts, or wait until what held the deployment up (throttling, another update of the function) is over, then run pulumi up again",
			r.timeout, firstLine(last.Error()))
	} else if r.ctx.Err() != nil { // Pulumi cancelled the update
		msg = fmt.Sprintf("cancelled (%v); the alias was not moved. Fix: run pulumi up again to finish the deployment", r.ctx.Err())
	} else if !strings.Contains(msg, "Fix:") && !strings.Contains(msg, "fix:") {
		if d, ok := diagnose.Explain(msg, diagnose.Facts{Architecture: r.fn.Architecture}); ok {
			msg += "\n" + d.String()
		}
	}
	return msg
}

// stepError places an error in a finer step than the one deploy names.
type stepError struct {
	step string
	err  error
}

func (e *stepError) Error() string { return e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }

func inStep(step string, err error) error {
	if err == nil {
		return nil
	}
	return &stepError{step, err}
}

// stepOf is the step an error happened in: the one it was placed in, the
// build's phase (build or push), a wait for Lambda, else def.
func stepOf(def string, err error) string {
	var se *stepError
	var be *build.Error
	var we *rollout.WaitError
	switch {
	case errors.As(err, &se):
		return se.step
	case errors.As(err, &be):
		return be.Phase
	case errors.As(err, &we):
		return "wait"
	}
	return def
}

// failState returns the state to record for a failed attempt: the previous
// deployment's outputs (or what a first deployment reached), the attempt in
// lastFailure, and an error that makes the engine keep that state and
// retry on the next `pulumi up`.
func (r *run) failState(step, msg, version string) (State, error) {
	st := r.st
	if r.prev != nil {
		st = *r.prev
		st.Args = r.args
		st.ManagedFunction = r.prev.ManagedFunction || r.st.ManagedFunction
		st.ManagedAlias = r.prev.ManagedAlias
	} else {
		st.Version = ""
	}
	if st.FunctionArn == "" {
		st.FunctionArn = r.fn.Arn
	}
	if st.Findings == nil {
		st.Findings = r.st.Findings
	}
	msg = clean(r.registry, msg)
	st.LastFailure = &Failure{Step: step, Message: msg, ImageURI: optional(r.img.Image.Ref), Version: optional(version)}
	return st, &deployError{msg: step + ": " + msg}
}

// deployError is a failure after side effects: its message is the cause and
// the fix, and it is an infer.ResourceInitFailedError, so the partial state
// is kept and the next update retries.
type deployError struct{ msg string }

func (e *deployError) Error() string { return e.msg }

func (e *deployError) As(target any) bool {
	if t, ok := target.(*infer.ResourceInitFailedError); ok {
		*t = infer.ResourceInitFailedError{Reasons: []string{e.msg}}
		return true
	}
	return false
}
