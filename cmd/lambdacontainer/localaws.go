package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/lambdacontainer/pulumi-lambdacontainer/localaws"
)

func serveLocalAWS(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("localaws", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var opts localaws.Options
	fs.StringVar(&opts.Addr, "addr", "127.0.0.1:4566", "where the AWS APIs listen")
	fs.StringVar(&opts.RegistryAddr, "registry-addr", "127.0.0.1:5000", "where the registry listens")
	fs.StringVar(&opts.Dir, "dir", defaultStateDir(), "the state directory (repositories, images, functions, logs survive a restart)")
	fs.StringVar(&opts.Account, "account", "123456789012", "the AWS account ID")
	fs.StringVar(&opts.Region, "region", "us-east-1", "the AWS region")
	fs.StringVar(&opts.Stacks, "stacks", "", `a JSON file of CloudFormation stacks: [{"name": "orders", "outputs": {"ApiFunction": "orders-api"}}]`)
	fs.DurationVar(&opts.UpdateDelay, "update-delay", 300*time.Millisecond, "how long Lambda functions stay Pending or InProgress")
	fs.DurationVar(&opts.PublishDelay, "publish-delay", 0, "how long a published Lambda version stays Pending (refusing invocations) before it is Active")
	fs.DurationVar(&opts.IdleTimeout, "idle-timeout", 5*time.Minute, "how long a warm function container waits for an invocation before it stops")
	fs.Func("allow-actions", "`FILE`: an IAM policy (or one action per line); calls needing any other action are denied, as AWS denies them", func(file string) error {
		actions, err := localaws.LoadAllowedActions(file)
		opts.AllowActions = actions
		return err
	})
	var imports []string
	fs.Func("import", "`LAYOUT=REPOSITORY:TAG`: push the OCI layout's image into the registry at start, to build on offline (repeatable)", func(v string) error {
		if !strings.Contains(v, "=") {
			return fmt.Errorf("want LAYOUT=REPOSITORY:TAG, not %q", v)
		}
		imports = append(imports, v)
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return 2
	}
	opts.Log = log.New(stderr, "localaws: ", log.LstdFlags)
	s, err := localaws.Start(opts)
	if err != nil {
		fmt.Fprintln(stderr, "lambdacontainer localaws:", err)
		return 1
	}
	for _, imp := range imports {
		dir, repoTag, _ := strings.Cut(imp, "=")
		ref, err := s.Import(context.Background(), dir, repoTag)
		if err != nil {
			fmt.Fprintln(stderr, "lambdacontainer localaws:", err)
			s.Close()
			return 1
		}
		fmt.Fprintf(stdout, "imported %s as %s\n", dir, ref)
	}
	fmt.Fprintf(stdout, "localaws serving account %s in %s, state in %s\n", s.Account(), s.Region(), opts.Dir)
	fmt.Fprintf(stdout, "  AWS APIs:  %s\n  registry:  %s (repositoryUri = %s/<name>)\n  admin:     %s/_localaws/\n\n",
		s.Endpoint(), s.RegistryHost(), s.RegistryHost(), s.Endpoint())
	fmt.Fprintf(stdout, "export AWS_ENDPOINT_URL=%s AWS_REGION=%s AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local\n", s.Endpoint(), s.Region())
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	if err := s.Close(); err != nil {
		fmt.Fprintln(stderr, "lambdacontainer localaws: shutting down:", err)
		return 1
	}
	return 0
}

func defaultStateDir() string {
	if dir, err := os.UserCacheDir(); err == nil {
		return dir + "/lambdacontainer/localaws"
	}
	return ".localaws"
}
