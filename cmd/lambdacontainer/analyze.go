package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/lambdacontainer/pulumi-lambdacontainer/internal/analyze"
	"github.com/lambdacontainer/pulumi-lambdacontainer/internal/source"
)

// keyValues is a repeatable K=V flag.
type keyValues map[string]string

func (kv keyValues) String() string { return fmt.Sprint(map[string]string(kv)) }

func (kv keyValues) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("%q is not K=V", v)
	}
	kv[k] = val
	return nil
}

// runAnalyze is `lambdacontainer analyze`: the provider's preflight check of
// a build context, on the files the provider would send.
func runAnalyze(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("analyze", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the findings as JSON")
	dockerfile := fs.String("dockerfile", "", "the Dockerfile, relative to DIR (default DIR/Dockerfile)")
	target := fs.String("target", "", "the stage to check (default the last)")
	buildArgs, env := keyValues{}, keyValues{}
	fs.Var(buildArgs, "build-arg", "a build argument K=V (repeatable)")
	fs.Var(env, "env", "a variable of the function's environment K=V (repeatable); without any, environment reads are not checked")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: lambdacontainer analyze [--json] [--dockerfile F] [--build-arg K=V]... [--env K=V]... [--target T] DIR")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	ctx := context.Background()
	tree, err := source.Hash(ctx, source.Options{Context: fs.Arg(0), Dockerfile: *dockerfile,
		Warn: func(msg string) { fmt.Fprintln(stderr, "warning:", msg) }})
	if err != nil {
		fmt.Fprintln(stderr, "lambdacontainer analyze:", err)
		return 1
	}
	root, err := filepath.Abs(fs.Arg(0))
	if err == nil {
		root, err = filepath.EvalSymlinks(root) // the root source.Hash walked
	}
	if err != nil {
		fmt.Fprintln(stderr, "lambdacontainer analyze:", err)
		return 1
	}
	in := analyze.Input{
		Context: root, Dockerfile: filepath.Join(root, filepath.FromSlash(tree.Dockerfile)), Files: tree.Paths(),
		BuildArgs: buildArgs, Target: *target, CacheKey: tree.Hash,
	}
	if len(env) > 0 {
		in.Environment = env
	}
	findings, err := analyze.Analyze(ctx, in)
	if err != nil {
		fmt.Fprintln(stderr, "lambdacontainer analyze:", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(findings)
	}
	code := 0
	for _, f := range findings {
		if f.Severity == "error" {
			code = 1
		}
		if *asJSON {
			continue
		}
		loc := f.File
		if f.Line > 0 {
			loc = fmt.Sprintf("%s:%d", loc, f.Line)
		}
		if loc != "" {
			loc += ": "
		}
		fix := ""
		if f.Fix != "" {
			fix = " (fix: " + f.Fix + ")"
		}
		fmt.Fprintf(stdout, "%s%s: %s%s\n", loc, f.Severity, f.Message, fix)
	}
	return code
}
