// Command lambdacontainer is the provider's companion CLI: `hash DIR` prints
// the source hash the provider computes for a build context (same ignore
// rules, same stat cache), and `localaws` serves the local AWS the provider
// and its tests deploy to.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"

	"github.com/lambdacontainer/pulumi-lambdacontainer/internal/source"
)

const usage = `usage: lambdacontainer <command> [flags]

commands:
  analyze [flags] DIR  check the build context DIR before a build: imports, handler, Dockerfile
  hash [flags] DIR   print the source hash of the build context DIR
  localaws [flags]   serve the local AWS (ECR and its registry, Lambda with runc, Logs, CloudFormation, STS)
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "analyze":
		return runAnalyze(args[1:], stdout, stderr)
	case "hash":
		return hash(args[1:], stdout, stderr)
	case "localaws":
		return serveLocalAWS(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "lambdacontainer: unknown command %q\n\n%s", args[0], usage)
	return 2
}

type triggers []string

func (t *triggers) String() string     { return fmt.Sprint(*t) }
func (t *triggers) Set(v string) error { *t = append(*t, v); return nil }

func hash(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("hash", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dockerfile := fs.String("dockerfile", "", "the Dockerfile, relative to DIR (default DIR/Dockerfile)")
	cacheDir := fs.String("cache-dir", "", `where the stat cache lives (default: the user cache directory; "off" disables it)`)
	files := fs.Bool("files", false, "also list the per-file digests")
	limit := fs.Int("limit", 1000, "with -files: list at most this many entries, the fullest directories as one each (as sourceFiles does)")
	asJSON := fs.Bool("json", false, "print JSON")
	var trig triggers
	fs.Var(&trig, "trigger", "a value folded into the hash (repeatable)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: lambdacontainer hash [flags] DIR")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	tree, err := source.Hash(context.Background(), source.Options{
		Context: fs.Arg(0), Dockerfile: *dockerfile, Triggers: trig, CacheDir: *cacheDir,
		Warn: func(msg string) { fmt.Fprintln(stderr, "warning:", msg) },
	})
	if err != nil {
		fmt.Fprintln(stderr, "lambdacontainer hash:", err)
		return 1
	}
	var digests map[string]string
	if *files {
		digests = tree.Digests(*limit)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(map[string]any{
			"hash": tree.Hash, "dockerfile": tree.Dockerfile, "ignoreFile": tree.IgnoreFile,
			"files": tree.Files, "bytes": tree.Bytes, "read": tree.Hashed, "digests": digests,
		})
		return 0
	}
	fmt.Fprintln(stdout, tree.Hash)
	ignore := tree.IgnoreFile
	if ignore == "" {
		ignore = "none"
	}
	fmt.Fprintf(stdout, "%d files, %d bytes; Dockerfile %s; ignore file %s; %d read, %d from the stat cache\n",
		tree.Files, tree.Bytes, tree.Dockerfile, ignore, tree.Hashed, tree.Files-tree.Hashed)
	for _, p := range slices.Sorted(maps.Keys(digests)) {
		fmt.Fprintf(stdout, "%s  %s\n", digests[p], p)
	}
	return 0
}
