package provider

import "github.com/pulumi/pulumi-go-provider/middleware/schema"

// metadata is the package-level part of schema.json, including the names the
// generated SDKs are published under.
var metadata = schema.Metadata{
	DisplayName: "Lambda Container Deployment",
	Description: "Build a Python backend's container image with BuildKit, push it to Amazon ECR, roll an AWS Lambda function onto it, prove the new version works, and roll back when it doesn't: in one resource, driven by a content hash of the source.",
	Keywords:    []string{"aws", "lambda", "ecr", "buildkit", "container", "category/cloud", "kind/native"},
	Homepage:    "https://github.com/lambdacontainer/pulumi-lambdacontainer",
	Repository:  "https://github.com/lambdacontainer/pulumi-lambdacontainer",
	Publisher:   "lambdacontainer",
	License:     "Apache-2.0",
	LanguageMap: map[string]any{
		"go": map[string]any{
			"importBasePath":                 "github.com/lambdacontainer/pulumi-lambdacontainer/sdk/go/lambdacontainer",
			"generateResourceContainerTypes": true,
			"respectSchemaVersion":           true,
		},
		"nodejs": map[string]any{
			"packageName":          "@lambdacontainer/pulumi",
			"respectSchemaVersion": true,
		},
		"python": map[string]any{
			"packageName":          "pulumi_lambdacontainer",
			"respectSchemaVersion": true,
			"pyproject":            map[string]any{"enabled": true},
		},
	},
}
