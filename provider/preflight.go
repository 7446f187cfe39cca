package provider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi/sdk/v3/go/property"

	"github.com/lambdacontainer/pulumi-lambdacontainer/internal/analyze"
	"github.com/lambdacontainer/pulumi-lambdacontainer/internal/source"
)

// Check validates the inputs, without side effects: unknown inputs pass.
func (d *LambdaContainerDeployment) Check(ctx context.Context, req infer.CheckRequest) (infer.CheckResponse[Args], error) {
	defer profile()()
	args, failures, err := infer.DefaultCheck[Args](ctx, req.NewInputs)
	if err != nil || len(failures) > 0 {
		for i := range failures {
			if failures[i].Property == "" { // an input with an empty name
				failures[i].Property, failures[i].Reason = `""`, "an input with an empty name; remove it"
			}
		}
		return infer.CheckResponse[Args]{Inputs: args, Failures: failures}, err
	}
	args.SourceHash, args.SourceFiles = nil, nil // computed here, never taken from the program
	failures = validate(args, req.NewInputs)
	c := &checker{raw: req.NewInputs}
	if len(failures) > 0 || !c.known("context") || !c.known("dockerfile") || !c.known("triggers") {
		return infer.CheckResponse[Args]{Inputs: args, Failures: failures}, nil
	}
	tree, err := hashSource(ctx, &args, req.OldInputs)
	if err != nil {
		failures = append(failures, p.CheckFailure{Property: "context", Reason: err.Error()})
	} else if c.known("buildArgs") && c.known("functionSettings") {
		var env map[string]string // the function's environment is known here only when this resource creates it
		if args.FunctionSettings != nil {
			env = args.FunctionSettings.Environment
			if env == nil {
				env = map[string]string{}
			}
		}
		findings, err := preflight(ctx, args, tree, env)
		if err != nil {
			return infer.CheckResponse[Args]{}, err
		}
		failures = append(failures, findingFailures(ctx, args, findings)...)
	}
	return infer.CheckResponse[Args]{Inputs: args, Failures: failures}, nil
}

// analysisMode is the `analysis` input: error, warn or off.
func analysisMode(a Args) string {
	if a.Analysis == nil {
		return "error"
	}
	return *a.Analysis
}

// preflight runs the analysis of the context (cached by its source hash),
// unless `analysis` is off. env is the function's environment; nil when
// unknown, which skips the check of the variables read at import time.
func preflight(ctx context.Context, a Args, tree *source.Tree, env map[string]string) ([]analyze.Finding, error) {
	if analysisMode(a) == "off" {
		return nil, nil
	}
	dir, err := filepath.Abs(a.Context)
	if err != nil {
		return nil, err
	}
	cache := ""
	if d, err := os.UserCacheDir(); err == nil {
		cache = filepath.Join(d, "lambdacontainer", "analysis")
	}
	return analyze.Analyze(ctx, analyze.Input{Context: dir, Dockerfile: dockerfilePath(a), Files: tree.Paths(), BuildArgs: a.BuildArgs,
		Target: deref(a.Target), Environment: env, CacheDir: cache, CacheKey: deref(a.SourceHash)})
}

// findingFailures turns error findings into CheckFailures when `analysis` is
// error, and logs the rest (all of them when it is warn).
func findingFailures(ctx context.Context, a Args, findings []analyze.Finding) []p.CheckFailure {
	log := p.GetLogger(ctx)
	var failures []p.CheckFailure
	for _, f := range findings {
		text := describeFinding(f)
		switch {
		case f.Severity == "error" && analysisMode(a) == "error":
			failures = append(failures, p.CheckFailure{Property: "context", Reason: text})
		case f.Severity == "error" || f.Severity == "warning":
			log.Warning(text)
		default:
			log.Info(text)
		}
	}
	return failures
}

// describeFinding is a finding as one line: where, what, and the fix.
func describeFinding(f analyze.Finding) string {
	where := ""
	switch {
	case f.File != "" && f.Line > 0:
		where = fmt.Sprintf("%s:%d: ", f.File, f.Line)
	case f.File != "":
		where = f.File + ": "
	}
	text := fmt.Sprintf("%s%s [%s]", where, f.Message, f.Code)
	if f.Fix != "" {
		text += "; fix: " + f.Fix
	}
	return text
}

// sourceDigestLimit is how many entries sourceFiles lists at most: above
// it, some directories are listed as one entry each. The engine spends
// about 0.35 ms per entry on every preview and up (measured here with
// 2,000 entries), and the state carries them all.
const sourceDigestLimit = 1000

// hashSource sets sourceHash and sourceFiles from the context, and logs the
// paths that changed since the last deployment (the preview shows it).
func hashSource(ctx context.Context, args *Args, old property.Map) (*source.Tree, error) {
	log := p.GetLogger(ctx)
	dockerfile := ""
	if args.Dockerfile != nil {
		dockerfile = *args.Dockerfile
	}
	tree, err := source.Hash(ctx, source.Options{
		Context: args.Context, Dockerfile: dockerfile, Triggers: args.Triggers, Warn: log.Warning,
	})
	if err != nil {
		return nil, err
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
	return tree, nil
}
