// Command pulumi-resource-lambdacontainer runs the lambdacontainer provider
// plugin; the Pulumi engine starts it.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/lambdacontainer/pulumi-lambdacontainer/provider"
)

func main() {
	if err := provider.New().Run(context.Background(), provider.Name, provider.Version); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
