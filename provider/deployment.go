package provider

import (
	"context"
	"fmt"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi/sdk/v3/go/property"

	"github.com/lambdacontainer/pulumi-lambdacontainer/internal/source"
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

// Check validates the inputs, without side effects: unknown inputs pass.
func (d *LambdaContainerDeployment) Check(ctx context.Context, req infer.CheckRequest) (infer.CheckResponse[Args], error) {
	args, failures, err := infer.DefaultCheck[Args](ctx, req.NewInputs)
	if err != nil || len(failures) > 0 {
		return infer.CheckResponse[Args]{Inputs: args, Failures: failures}, err
	}
	args.SourceHash, args.SourceFiles = nil, nil // computed here, never taken from the program
	failures = validate(args, req.NewInputs)
	c := &checker{raw: req.NewInputs}
	if len(failures) == 0 && c.known("context") && c.known("dockerfile") && c.known("triggers") {
		if err := hashSource(ctx, &args, req.OldInputs); err != nil {
			failures = append(failures, p.CheckFailure{Property: "context", Reason: err.Error()})
		}
	}
	return infer.CheckResponse[Args]{Inputs: args, Failures: failures}, nil
}

// sourceDigestLimit is how many paths sourceFiles lists before it lists
// directories instead, to keep the state small.
const sourceDigestLimit = 5000

// hashSource sets sourceHash and sourceFiles from the context, and logs the
// paths that changed since the last deployment (the preview shows it).
func hashSource(ctx context.Context, args *Args, old property.Map) error {
	log := p.GetLogger(ctx)
	dockerfile := ""
	if args.Dockerfile != nil {
		dockerfile = *args.Dockerfile
	}
	tree, err := source.Hash(ctx, source.Options{
		Context: args.Context, Dockerfile: dockerfile, Triggers: args.Triggers, Warn: log.Warning,
	})
	if err != nil {
		return err
	}
	args.SourceHash, args.SourceFiles = &tree.Hash, tree.Digests(sourceDigestLimit)
	if prev := old.Get("sourceFiles"); prev.IsMap() {
		before := map[string]string{}
		for k, v := range prev.AsMap().All {
			if v.IsString() {
				before[k] = v.AsString()
			}
		}
		if change := source.Diff(before, args.SourceFiles); !change.Empty() {
			log.Infof("source %s", change.Summary(10))
		}
	}
	return nil
}

// errNotDeployable is returned until the build, publish and roll stages exist:
// a deployment must fail rather than pretend it succeeded.
func errNotDeployable(op string) error {
	return fmt.Errorf("%s of a LambdaContainerDeployment is not available in lambdacontainer %s: "+
		"this version validates and previews deployments but cannot build, push or roll one yet; "+
		"run `pulumi preview` to check the program, and upgrade the provider to deploy", op, Version)
}

// Create deploys a new deployment. In a preview it reports the outputs as unknown.
func (d *LambdaContainerDeployment) Create(ctx context.Context, req infer.CreateRequest[Args]) (infer.CreateResponse[State], error) {
	if req.DryRun {
		return infer.CreateResponse[State]{ID: req.Name, Output: State{Args: req.Inputs}}, nil
	}
	return infer.CreateResponse[State]{}, errNotDeployable("create")
}

// Update redeploys after a change. In a preview it reports the outputs as unknown.
func (d *LambdaContainerDeployment) Update(ctx context.Context, req infer.UpdateRequest[Args, State]) (infer.UpdateResponse[State], error) {
	if req.DryRun {
		return infer.UpdateResponse[State]{Output: State{Args: req.Inputs}}, nil
	}
	return infer.UpdateResponse[State]{}, errNotDeployable("update")
}

// Delete removes nothing yet: no deployment can have been created.
func (d *LambdaContainerDeployment) Delete(ctx context.Context, req infer.DeleteRequest[State]) (infer.DeleteResponse, error) {
	return infer.DeleteResponse{}, nil
}
