// Package provider is the Pulumi face of pulumi-lambdacontainer: the provider
// configuration, the LambdaContainerDeployment resource's inputs and outputs,
// and its Check, Diff, Create, Update, Read and Delete. It orchestrates the
// stages under internal/ and does nothing else itself.
package provider

import (
	"context"
	"time"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
)

// Name is the Pulumi package name.
const Name = "lambdacontainer"

// Version is the provider's version, also written into schema.json and the SDKs.
var Version = "0.1.0"

// New returns the provider.
func New() p.Provider {
	return withTimeouts(infer.Provider(infer.Options{
		Metadata:  metadata,
		Resources: []infer.InferredResource{infer.Resource(&LambdaContainerDeployment{})},
		Config:    infer.Config(&Config{}),
		ModuleMap: map[tokens.ModuleName]tokens.ModuleName{"provider": "index"},
	}))
}

// withTimeouts makes a resource's custom timeouts (`customTimeouts`) the
// deadline of its Create, Update and Delete, which bounds every wait and
// every retry in them; infer does not pass them on.
func withTimeouts(prov p.Provider) p.Provider {
	create, update, del := prov.Create, prov.Update, prov.Delete
	prov.Create = func(ctx context.Context, req p.CreateRequest) (p.CreateResponse, error) {
		ctx, cancel := within(ctx, req.Timeout)
		defer cancel()
		return create(ctx, req)
	}
	prov.Update = func(ctx context.Context, req p.UpdateRequest) (p.UpdateResponse, error) {
		ctx, cancel := within(ctx, req.Timeout)
		defer cancel()
		return update(ctx, req)
	}
	prov.Delete = func(ctx context.Context, req p.DeleteRequest) error {
		ctx, cancel := within(ctx, req.Timeout)
		defer cancel()
		return del(ctx, req)
	}
	return prov
}

// within is ctx with a deadline seconds from now; 0 leaves it as it is.
func within(ctx context.Context, seconds float64) (context.Context, context.CancelFunc) {
	if seconds <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, time.Duration(seconds*float64(time.Second)))
}
