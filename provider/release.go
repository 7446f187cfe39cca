package provider

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	p "github.com/pulumi/pulumi-go-provider"

	"github.com/lambdacontainer/pulumi-lambdacontainer/internal/ecr"
	"github.com/lambdacontainer/pulumi-lambdacontainer/internal/rollout"
)

// drifted marks a sourceHash in refreshed inputs whose function no longer
// runs what was deployed, so that the next preview shows an update.
const drifted = "drifted: "

// refresh reads the function behind a deployment: the image $LATEST
// resolves to, and the alias's version. A difference from the state is
// drift: the state takes the real values and sourceHash in the inputs is
// marked, so the next `pulumi up` redeploys. gone says the function no
// longer exists.
func refresh(ctx context.Context, cfg *Config, st State, inputs Args) (State, Args, bool, error) {
	if st.FunctionArn == "" { // a first deployment that failed before the function
		return st, inputs, false, nil
	}
	clients, err := cfg.clients(ctx)
	if err != nil {
		return State{}, Args{}, false, err
	}
	lambda := &rollout.Client{API: clients.lambda}
	fn, err := lambda.Find(ctx, st.FunctionArn)
	if errors.Is(err, rollout.NotFound) {
		return State{}, Args{}, true, nil
	}
	if err != nil {
		return State{}, Args{}, false, err
	}
	var why []string
	if d := fn.Digest(); d != "" && st.ImageDigest != "" && d != st.ImageDigest {
		why = append(why, fmt.Sprintf("$LATEST runs %s, not %s", fn.ResolvedImageURI, st.ImageURI))
		st.ImageURI, st.ImageDigest = fn.ResolvedImageURI, d
	}
	if st.AliasArn != nil && inputs.Alias != nil {
		a, err := lambda.GetAlias(ctx, fn, *inputs.Alias)
		if err != nil {
			return State{}, Args{}, false, err
		}
		if a.Version != st.Version {
			why = append(why, fmt.Sprintf("alias %s points at version %q, not %s", *inputs.Alias, a.Version, st.Version))
			st.Version = a.Version
			if a.Version == "" {
				st.AliasArn = nil
			}
		}
	}
	if len(why) > 0 {
		p.GetLogger(ctx).Warningf("function %s drifted: %v; the next pulumi up redeploys", fn.Name, why)
		mark := drifted + why[0]
		st.SourceHash, inputs.SourceHash = &mark, &mark
	}
	return st, inputs, false, nil
}

// release undoes what a deployment owns: with a function it created, the
// function; else the alias it created. Then it deletes the images that no
// function references any more, keeping every image the function's
// $LATEST and versions still use, and the images the deployment pushed but
// never got to reference (a first deployment that failed before or at
// creating the function), unless another function references them.
func release(ctx context.Context, cfg *Config, st State) error {
	if st.ImageDigest == "" && st.FunctionArn == "" && (st.LastFailure == nil || st.LastFailure.ImageURI == nil) {
		return nil // nothing was pushed or created
	}
	clients, err := cfg.clients(ctx)
	if err != nil {
		return err
	}
	lambda := &rollout.Client{API: clients.lambda, Progress: p.GetLogger(ctx).InfoStatus}
	registry := ecr.New(clients.ecr)
	inUse := map[string]bool{}
	fn, err := rollout.Function{}, rollout.NotFound // no function: the deployment failed before creating it
	if st.FunctionArn != "" {
		fn, err = lambda.Find(ctx, st.FunctionArn)
	}
	switch {
	case errors.Is(err, rollout.NotFound):
	case err != nil:
		return err
	case st.ManagedFunction:
		if err := lambda.Delete(ctx, fn.Name); err != nil {
			return err
		}
	default:
		if st.ManagedAlias && st.Alias != nil {
			if err := lambda.DeleteAlias(ctx, fn, *st.Alias); err != nil {
				return err
			}
		}
		refs, err := lambda.Refs(ctx, fn)
		if err != nil {
			return err
		}
		inUse = refs.InUse(refs.Versions)
	}
	repo, err := registry.Lookup(ctx, st.Repository)
	if errors.As(err, new(*ecrtypes.RepositoryNotFoundException)) {
		return nil
	}
	if err != nil {
		return err
	}
	images, err := registry.Images(ctx, repo)
	if err != nil {
		return err
	}
	deleted, err := registry.Release(ctx, repo, images, st.FunctionArn, inUse)
	if err == nil {
		var gone []string
		gone, err = deleteUnreferenced(ctx, registry, repo, images, pushed(st, repo), inUse)
		deleted = append(deleted, gone...)
	}
	if len(deleted) > 0 {
		p.GetLogger(ctx).Infof("deleted %d image(s) of %s that nothing references any more", len(deleted), repo.URI)
	}
	return err
}

// pushed are the digests of the images a deployment's state names in repo:
// the deployed one and the failed attempt's.
func pushed(st State, repo ecr.Repository) []string {
	var out []string
	for _, ref := range []string{st.ImageURI, deref(deref(st.LastFailure).ImageURI)} {
		if at, digest, ok := strings.Cut(ref, "@"); ok && at == repo.URI {
			out = append(out, digest)
		}
	}
	return out
}

// deleteUnreferenced deletes the images among digests that are not in use
// and that no function's reference tag holds: pushed, but never deployed.
func deleteUnreferenced(ctx context.Context, registry *ecr.Client, repo ecr.Repository, images []ecr.Listed, digests []string, inUse map[string]bool) ([]string, error) {
	var deleted []string
	for _, im := range images {
		if !slices.Contains(digests, im.Digest) || inUse[im.Digest] || slices.Contains(deleted, im.Digest) ||
			slices.ContainsFunc(im.Tags, func(t string) bool { return strings.HasPrefix(t, ecr.RefTagPrefix) }) {
			continue
		}
		if err := registry.Delete(ctx, repo, im.Digest); err != nil {
			return deleted, err
		}
		deleted = append(deleted, im.Digest)
	}
	return deleted, nil
}
