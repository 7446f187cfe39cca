package provider

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
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
	// retried is the last error any of them retried: what held the
	// operation up when its deadline passed.
	retried *lastError
}

// lastError keeps the last error it was given.
type lastError struct {
	mu  sync.Mutex
	err error
}

func (l *lastError) set(err error) {
	l.mu.Lock()
	l.err = err
	l.mu.Unlock()
}

func (l *lastError) get() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// clients loads the AWS configuration the provider config describes (its
// region and profile over the SDK's usual chain: environment, shared files)
// and makes the clients, each on its configured endpoint.
func (c *Config) clients(ctx context.Context) (awsClients, error) {
	_, deadline := ctx.Deadline()
	retried := &lastError{}
	opts := []func(*config.LoadOptions) error{config.WithRetryer(func() aws.Retryer { return newRetryer(deadline, retried) })}
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
	if cfg.Credentials != nil { // cached: the calls reuse them; an error shows on the first call
		if creds, err := cfg.Credentials.Retrieve(ctx); err == nil {
			remember(creds.SecretAccessKey, creds.SessionToken)
		}
	}
	at := func(service string, base **string) {
		if u := c.endpoint(service); u != nil {
			*base = u
		}
	}
	return awsClients{
		ecr:     awsecr.NewFromConfig(cfg, func(o *awsecr.Options) { at("ecr", &o.BaseEndpoint) }),
		lambda:  lambda.NewFromConfig(cfg, func(o *lambda.Options) { at("lambda", &o.BaseEndpoint) }),
		logs:    cloudwatchlogs.NewFromConfig(cfg, func(o *cloudwatchlogs.Options) { at("logs", &o.BaseEndpoint) }),
		cfn:     cloudformation.NewFromConfig(cfg, func(o *cloudformation.Options) { at("cloudformation", &o.BaseEndpoint) }),
		retried: retried,
	}, nil
}

// retryer retries throttling, 5xx responses and Lambda's 409 "an update is
// in progress" with the SDK's capped, jittered exponential backoff, and no
// retry quota. Throttling and conflicts mean "wait your turn": under a
// deadline (the resource's custom timeout, see withTimeouts) they are
// retried until it passes, without one for waitAttempts (about five
// minutes of throttling). Other failures (a 5xx, a dropped connection) are
// retried failAttempts times (about a minute) either way: one that persists
// is an outage to report, not to wait out. It notes every error it retries
// in retried.
type retryer struct {
	aws.RetryerV2
	deadline bool
	retried  *lastError
}

const (
	waitAttempts = 60
	failAttempts = 12
)

func newRetryer(deadline bool, retried *lastError) aws.RetryerV2 {
	return retryer{retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxBackoff = 10 * time.Second
		o.RateLimiter = ratelimit.None
		o.Retryables = append(o.Retryables, retry.IsErrorRetryableFunc(updateInProgress))
	}), deadline, retried}
}

// MaxAttempts is 0, no limit: RetryDelay decides when to stop.
func (r retryer) MaxAttempts() int { return 0 }

func (r retryer) IsErrorRetryable(err error) bool {
	ok := r.RetryerV2.IsErrorRetryable(err)
	if ok {
		r.retried.set(err)
	}
	return ok
}

func (r retryer) RetryDelay(attempt int, err error) (time.Duration, error) {
	limit := failAttempts
	if waitOut(err) {
		limit = waitAttempts
		if r.deadline {
			limit = math.MaxInt
		}
	}
	if attempt >= limit {
		return 0, &retry.MaxAttemptsError{Attempt: attempt, Err: err}
	}
	return r.RetryerV2.RetryDelay(attempt, err)
}

// waitOut says whether err asks the caller to wait its turn: throttling, or
// a function update in progress.
func waitOut(err error) bool {
	return retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err).Bool() || updateInProgress(err).Bool()
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
