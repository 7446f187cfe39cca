package provider

import (
	"context"

	"github.com/pulumi/pulumi-go-provider/infer"
)

// LambdaContainerDeployment builds a source folder into a container image,
// pushes it to ECR, rolls a Lambda function onto it, verifies the new version
// and promotes it, or rolls back.
type LambdaContainerDeployment struct{}

func (d *LambdaContainerDeployment) Annotate(an infer.Annotator) {
	an.Describe(d, "Deploys a Python backend's source folder to an AWS Lambda function as a container image, in one `pulumi up`: "+
		"analyze the source, build it with BuildKit for the function's architecture, push it to ECR, "+
		"point the function at the image by digest, publish a version, verify that version with a real invocation, "+
		"then move the alias, or roll back and fail with the cause and the fix. "+
		"Only a change to the files BuildKit would send (or to the build inputs) rebuilds, and the preview names the changed files.")
}

// deploy is one deployment, in the seven steps of DESIGN.md. prev is the
// last deployment's state (nil on create). Each step reports its progress
// in the CLI's status column; a failure after a side effect returns the
// state reached so far (a partial state), so that nothing is orphaned and
// the next `pulumi up` picks up from there. Once the function was pointed
// at the new image, any failure before the version is verified points it
// back (unless rollback is off).
func deploy(ctx context.Context, cfg *Config, args Args, prev *State) (State, error) {
	defer profile()()
	r, err := start(ctx, cfg, args, prev)
	if err != nil {
		return State{}, err
	}
	if err := r.analyze(); err != nil { // 1. the Python source and the Dockerfile, before anything is built
		return r.fail("analyze", err)
	}
	img, err := r.publish() // 2, 3. build for the function's architecture, push, prove Lambda accepts it
	if err != nil {
		return r.fail("push", err)
	}
	version, err := r.roll(img) // 4. point the function at repo@digest, wait, publish a version
	if err != nil {
		return r.fail("roll", err)
	}
	if err := r.verify(version); err != nil { // 5. invoke that version, check it, read its REPORT and logs
		return r.rollBack(version, err) // 6. restore the previous image and fail with the diagnosis...
	}
	if err := r.promote(version); err != nil { // ... or move the alias
		return r.fail("promote", err)
	}
	r.prune() // 7. delete what no alias, kept version or $LATEST references (a failure only warns: the next deployment prunes)
	return r.st, nil
}

// Create deploys a new deployment. In a preview it reports the outputs as unknown.
func (d *LambdaContainerDeployment) Create(ctx context.Context, req infer.CreateRequest[Args]) (infer.CreateResponse[State], error) {
	if req.DryRun {
		return infer.CreateResponse[State]{ID: req.Name, Output: State{Args: req.Inputs}}, nil
	}
	cfg := infer.GetConfig[Config](ctx)
	st, err := deploy(ctx, &cfg, req.Inputs, nil)
	return infer.CreateResponse[State]{ID: req.Name, Output: st}, scrubError(err)
}

// Update redeploys after a change. In a preview it reports the outputs as unknown.
func (d *LambdaContainerDeployment) Update(ctx context.Context, req infer.UpdateRequest[Args, State]) (infer.UpdateResponse[State], error) {
	if req.DryRun {
		return infer.UpdateResponse[State]{Output: State{Args: req.Inputs}}, nil
	}
	cfg := infer.GetConfig[Config](ctx)
	st, err := deploy(ctx, &cfg, req.Inputs, &req.State)
	return infer.UpdateResponse[State]{Output: st}, scrubError(err)
}

// Read refreshes the state from the function: a function moved to another
// image or an alias moved to another version out of band is drift, which
// the next preview shows as a change to sourceHash.
func (d *LambdaContainerDeployment) Read(ctx context.Context, req infer.ReadRequest[Args, State]) (infer.ReadResponse[Args, State], error) {
	cfg := infer.GetConfig[Config](ctx)
	st, inputs, gone, err := refresh(ctx, &cfg, req.State, req.Inputs)
	if err != nil || gone {
		return infer.ReadResponse[Args, State]{}, scrubError(err)
	}
	return infer.ReadResponse[Args, State]{ID: req.ID, Inputs: inputs, State: st}, nil
}

// Delete releases the deployment: the alias and the function when this
// resource created them, then every image nothing references any more. It
// never leaves the function pointing at a deleted image.
func (d *LambdaContainerDeployment) Delete(ctx context.Context, req infer.DeleteRequest[State]) (infer.DeleteResponse, error) {
	cfg := infer.GetConfig[Config](ctx)
	return infer.DeleteResponse{}, scrubError(release(ctx, &cfg, req.State))
}
