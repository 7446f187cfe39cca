// Package orders is the Pulumi program that deploys the orders API: a
// function the deployment creates and owns, the image built from the
// backend's source, and the alias moved once the new version answers.
package orders

import (
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"

	"github.com/lambdacontainer/pulumi-lambdacontainer/sdk/go/lambdacontainer"
)

// Program deploys the backend in the directory given.
func Program(backend string) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		cfg := config.New(ctx, "")
		baseImage := cfg.Get("baseImage")
		if baseImage == "" {
			baseImage = "public.ecr.aws/lambda/python:3.11"
		}
		api, err := lambdacontainer.NewLambdaContainerDeployment(ctx, "api", &lambdacontainer.LambdaContainerDeploymentArgs{
			Function: pulumi.String("orders-api"),
			FunctionSettings: &lambdacontainer.FunctionSettingsArgs{
				Role:           pulumi.String(cfg.Require("functionRole")),
				MemoryMb:       pulumi.Int(512),
				TimeoutSeconds: pulumi.Int(30),
				Environment:    pulumi.StringMap{"STAGE": pulumi.String("dev"), "CURRENCY": pulumi.String("EUR")},
			},
			Repository: pulumi.String("orders-api"),
			Tags:       pulumi.StringMap{"team": pulumi.String("orders")},
			Context:    pulumi.String(backend),
			BuildArgs:  pulumi.StringMap{"BASE_IMAGE": pulumi.String(baseImage)},
			Alias:      pulumi.String("live"),
			Verify: &lambdacontainer.VerifyArgs{
				Http:               &lambdacontainer.HttpRequestArgs{Method: pulumi.String("GET"), Path: pulumi.String("/health")},
				ExpectStatus:       pulumi.Int(200),
				ExpectBodyContains: pulumi.String(`"status":"ok"`),
			},
		})
		if err != nil {
			return err
		}
		ctx.Export("imageUri", api.ImageUri)
		ctx.Export("version", api.Version)
		ctx.Export("verification", api.Verification)
		return nil
	}
}
