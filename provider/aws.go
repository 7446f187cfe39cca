package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	awsecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/smithy-go"
)

// awsClients are the AWS API clients of one operation.
type awsClients struct {
	ecr    *awsecr.Client
	lambda *lambda.Client
	logs   *cloudwatchlogs.Client
	cfn    *cloudformation.Client
}

// clients loads the AWS configuration the provider config describes (its
// region and profile over the SDK's usual chain: environment, shared files)
// and makes the clients, each on its configured endpoint.
func (c *Config) clients(ctx context.Context) (awsClients, error) {
	opts := []func(*config.LoadOptions) error{config.WithRetryer(retryer)}
	if c.Region != nil && *c.Region != "" {
		opts = append(opts, config.WithRegion(*c.Region))
	}
	if c.Profile != nil && *c.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(*c.Profile))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return awsClients{}, fmt.Errorf("loading the AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return awsClients{}, errors.New("no AWS region: set the provider config `lambdacontainer:region`, or AWS_REGION")
	}
	at := func(service string, base **string) {
		if u := c.endpoint(service); u != nil {
			*base = u
		}
	}
	return awsClients{
		ecr:    awsecr.NewFromConfig(cfg, func(o *awsecr.Options) { at("ecr", &o.BaseEndpoint) }),
		lambda: lambda.NewFromConfig(cfg, func(o *lambda.Options) { at("lambda", &o.BaseEndpoint) }),
		logs:   cloudwatchlogs.NewFromConfig(cfg, func(o *cloudwatchlogs.Options) { at("logs", &o.BaseEndpoint) }),
		cfn:    cloudformation.NewFromConfig(cfg, func(o *cloudformation.Options) { at("cloudformation", &o.BaseEndpoint) }),
	}, nil
}

// retryer retries throttling, 5xx responses and Lambda's 409 "an update is
// in progress" with capped, jittered exponential backoff. The operation's
// context (the resource's custom timeout) bounds it all; no retry quota
// stops a long deployment early.
func retryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = 12
		o.MaxBackoff = 10 * time.Second
		o.RateLimiter = ratelimit.None
		o.Retryables = append(o.Retryables, retry.IsErrorRetryableFunc(updateInProgress))
	})
}

// updateInProgress is Lambda's 409 for a function that is still settling,
// which passes; its other 409s (an alias that already exists) do not.
func updateInProgress(err error) aws.Ternary {
	var api smithy.APIError
	if errors.As(err, &api) && api.ErrorCode() == "ResourceConflictException" &&
		strings.Contains(api.ErrorMessage(), "cannot be performed at this time") {
		return aws.TrueTernary
	}
	return aws.UnknownTernary
}

// endpoint is the configured endpoint for a service: endpoints[service], then
// endpoints["all"]; nil leaves it to the SDK (AWS_ENDPOINT_URL_<SERVICE>,
// AWS_ENDPOINT_URL, then AWS itself).
func (c *Config) endpoint(service string) *string {
	for _, k := range []string{service, "all"} {
		if u, ok := c.Endpoints[k]; ok && u != "" {
			return &u
		}
	}
	return nil
}
