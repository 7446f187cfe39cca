package provider

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"os"
	"slices"
	"strings"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
)

// Config is the provider configuration.
type Config struct {
	Region       *string           `pulumi:"region,optional"`
	Profile      *string           `pulumi:"profile,optional"`
	Endpoints    map[string]string `pulumi:"endpoints,optional"`
	BuildkitHost *string           `pulumi:"buildkitHost,optional"`
	BuildkitTLS  *string           `pulumi:"buildkitTlsDir,optional"`
}

// endpointServices are the keys `endpoints` accepts: the AWS services the
// provider calls, plus "all" for one endpoint serving them all (localaws).
var endpointServices = []string{"all", "cloudformation", "ecr", "lambda", "logs", "sts"}

func (c *Config) Annotate(an infer.Annotator) {
	an.Describe(&c.Region, "The AWS region. Defaults to `AWS_REGION`, then `AWS_DEFAULT_REGION`, then the profile's region.")
	an.Describe(&c.Profile, "The AWS shared-config profile. Defaults to `AWS_PROFILE`.")
	an.Describe(&c.Endpoints, "Endpoint URLs by service (`ecr`, `lambda`, `logs`, `cloudformation`, `sts`, or `all`), for VPC endpoints or a local AWS such as `lambdacontainer localaws`. Unset services use `AWS_ENDPOINT_URL_<SERVICE>`, then `AWS_ENDPOINT_URL`, then AWS itself.")
	an.Describe(&c.BuildkitHost, "The BuildKit daemon to build with: `unix://`, `tcp://` or `docker-container://`. Defaults to `BUILDKIT_HOST`, then the usual local sockets.")
	an.Describe(&c.BuildkitTLS, "A directory with the CA and client certificate for a `tcp://` buildkitHost with mTLS: `ca.pem`, `cert.pem`, `key.pem` (or `ca.crt`, `tls.crt`, `tls.key`), as buildctl's `--tlsdir`. Defaults to `BUILDKIT_TLS_DIR`.")
}

// Configure applies the environment fallbacks. It runs even when the engine
// calls Configure without CheckConfig, so the fallbacks live here.
func (c *Config) Configure(context.Context) error {
	fallback := func(field **string, env ...string) {
		if *field != nil && **field != "" {
			return
		}
		for _, e := range env {
			if v := os.Getenv(e); v != "" {
				*field = &v
				return
			}
		}
	}
	fallback(&c.Region, "AWS_REGION", "AWS_DEFAULT_REGION")
	fallback(&c.Profile, "AWS_PROFILE")
	fallback(&c.BuildkitHost, "BUILDKIT_HOST")
	if c.BuildkitHost != nil && strings.HasPrefix(*c.BuildkitHost, "tcp://") {
		fallback(&c.BuildkitTLS, "BUILDKIT_TLS_DIR") // as buildctl: TLS is for tcp:// only
	}
	if f := c.validate(); len(f) > 0 {
		return fmt.Errorf("invalid provider configuration: %s: %s", f[0].Property, f[0].Reason)
	}
	return nil
}

// Check validates the configuration.
func (c *Config) Check(ctx context.Context, req infer.CheckRequest) (infer.CheckResponse[*Config], error) {
	// The SDKs send the plugin version with the default provider's inputs;
	// the engine, not the configuration, owns it.
	cfg, failures, err := infer.DefaultCheck[*Config](ctx, req.NewInputs.Delete("version"))
	if err != nil || len(failures) > 0 {
		return infer.CheckResponse[*Config]{Inputs: cfg, Failures: failures}, err
	}
	return infer.CheckResponse[*Config]{Inputs: cfg, Failures: cfg.validate()}, nil
}

func (c *Config) validate() []p.CheckFailure {
	var failures []p.CheckFailure
	for _, k := range slices.Sorted(maps.Keys(c.Endpoints)) {
		if !slices.Contains(endpointServices, k) {
			failures = append(failures, p.CheckFailure{Property: "endpoints",
				Reason: fmt.Sprintf("unknown service %q; use one of %s", k, strings.Join(endpointServices, ", "))})
			continue
		}
		if u, err := url.Parse(c.Endpoints[k]); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			failures = append(failures, p.CheckFailure{Property: "endpoints",
				Reason: fmt.Sprintf("%s: %q is not an http(s) URL; write it as http://127.0.0.1:4566", k, c.Endpoints[k])})
		}
	}
	if c.BuildkitHost != nil && *c.BuildkitHost != "" {
		h := *c.BuildkitHost
		if !strings.HasPrefix(h, "unix://") && !strings.HasPrefix(h, "tcp://") && !strings.HasPrefix(h, "docker-container://") {
			failures = append(failures, p.CheckFailure{Property: "buildkitHost",
				Reason: fmt.Sprintf("%q has no supported scheme; use unix:///run/buildkit/buildkitd.sock, tcp://HOST:PORT or docker-container://NAME", h)})
		}
	}
	if c.BuildkitTLS != nil && *c.BuildkitTLS != "" && (c.BuildkitHost == nil || !strings.HasPrefix(*c.BuildkitHost, "tcp://")) {
		failures = append(failures, p.CheckFailure{Property: "buildkitTlsDir",
			Reason: "TLS applies to a tcp:// buildkitHost only; set buildkitHost to tcp://HOST:PORT, or unset buildkitTlsDir"})
	}
	return failures
}

// Diff reports a config change as an update of the provider, never as a
// replacement: a new region or endpoint must not replace every deployment.
func (c *Config) Diff(_ context.Context, req infer.DiffRequest[*Config, *Config]) (infer.DiffResponse, error) {
	olds, news := req.State, req.Inputs
	if olds == nil {
		olds = &Config{}
	}
	if news == nil {
		news = &Config{}
	}
	detailed := map[string]p.PropertyDiff{}
	str := func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	}
	for name, pair := range map[string][2]string{
		"region":         {str(olds.Region), str(news.Region)},
		"profile":        {str(olds.Profile), str(news.Profile)},
		"buildkitHost":   {str(olds.BuildkitHost), str(news.BuildkitHost)},
		"buildkitTlsDir": {str(olds.BuildkitTLS), str(news.BuildkitTLS)},
	} {
		if pair[0] != pair[1] {
			detailed[name] = p.PropertyDiff{Kind: p.Update}
		}
	}
	keys := map[string]bool{}
	for k := range olds.Endpoints {
		keys[k] = true
	}
	for k := range news.Endpoints {
		keys[k] = true
	}
	for k := range keys {
		o, inOld := olds.Endpoints[k]
		n, inNew := news.Endpoints[k]
		switch {
		case !inOld:
			detailed["endpoints."+k] = p.PropertyDiff{Kind: p.Add}
		case !inNew:
			detailed["endpoints."+k] = p.PropertyDiff{Kind: p.Delete}
		case o != n:
			detailed["endpoints."+k] = p.PropertyDiff{Kind: p.Update}
		}
	}
	return infer.DiffResponse{HasChanges: len(detailed) > 0, DetailedDiff: detailed}, nil
}
