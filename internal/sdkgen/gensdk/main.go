// Command gensdk regenerates schema.json (`gensdk schema`) or the SDKs under
// sdk/ from schema.json (`gensdk sdks`), in the repository root it runs in.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/lambdacontainer/pulumi-lambdacontainer/internal/sdkgen"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "gensdk:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: gensdk schema|sdks")
	}
	switch args[0] {
	case "schema":
		data, err := sdkgen.Schema(context.Background())
		if err != nil {
			return err
		}
		return os.WriteFile("schema.json", data, 0o644)
	case "sdks":
		data, err := os.ReadFile("schema.json")
		if err != nil {
			return fmt.Errorf("%w; run `make schema` first", err)
		}
		for _, lang := range sdkgen.Languages {
			if err := sdkgen.Write(".", data, lang); err != nil {
				return fmt.Errorf("sdk/%s: %w", lang, err)
			}
		}
		return nil
	}
	return fmt.Errorf("unknown command %q: use schema or sdks", args[0])
}
