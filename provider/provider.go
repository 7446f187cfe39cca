// Package provider is the Pulumi face of pulumi-lambdacontainer: the provider
// configuration, the LambdaContainerDeployment resource's inputs and outputs,
// and its Check, Diff, Create, Update, Read and Delete. It orchestrates the
// stages under internal/ and does nothing else itself.
package provider

import (
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
	return infer.Provider(infer.Options{
		Metadata:  metadata,
		Resources: []infer.InferredResource{infer.Resource(&LambdaContainerDeployment{})},
		Config:    infer.Config(&Config{}),
		ModuleMap: map[tokens.ModuleName]tokens.ModuleName{"provider": "index"},
	})
}
