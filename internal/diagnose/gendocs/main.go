// Command gendocs writes docs/troubleshooting.md from the diagnose catalogue.
package main

import (
	"log"
	"os"

	"github.com/lambdacontainer/pulumi-lambdacontainer/internal/diagnose"
)

func main() {
	if err := os.WriteFile("docs/troubleshooting.md", []byte(diagnose.Markdown()), 0o644); err != nil {
		log.Fatal(err)
	}
}
