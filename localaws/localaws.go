// Package localaws emulates the AWS services the provider uses, on loopback,
// speaking their real wire protocols: ECR (AWS JSON 1.1) in front of a real
// OCI registry, the Lambda control plane (REST JSON), CloudWatch Logs (AWS
// JSON 1.1), CloudFormation and STS (query), and an admin API that injects
// faults. One port serves every AWS API; a second serves the registry. State
// lives in a directory, so a restart keeps repositories, images, functions
// and logs.
package localaws

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Options configure a Server. Zero values pick free loopback ports, an
// in-memory state, account 123456789012 and region us-east-1.
type Options struct {
	Addr         string // the AWS APIs, e.g. 127.0.0.1:4566
	RegistryAddr string // the registry, e.g. 127.0.0.1:5000
	Dir          string // the state directory; empty keeps state in a temporary one, removed on Close
	Account      string
	Region       string
	// Stacks is a JSON file declaring CloudFormation stacks and their outputs.
	Stacks string
	// UpdateDelay is how long Lambda functions stay Pending / InProgress; default 300 ms.
	UpdateDelay time.Duration
	// PublishDelay is how long a published version stays Pending (and
	// refuses invocations) after PublishVersion or UpdateFunctionCode with
	// Publish created it, before it becomes Active (or Failed with its
	// update); default 0: Active at once, or as soon as its update settles.
	PublishDelay time.Duration
	// IdleTimeout is how long a warm container waits for an invocation before it stops; default 5 minutes.
	IdleTimeout time.Duration
	// AllowActions are the IAM actions callers may use (e.g.
	// "lambda:UpdateFunctionCode", "ecr:*"); any other call is denied as AWS
	// denies it. Nil allows everything.
	AllowActions []string
	Log          *log.Logger
}

// Server is a running localaws.
type Server struct {
	opts     Options
	tempDir  string
	api      *http.Server
	registry *http.Server
	apiLn    net.Listener
	regLn    net.Listener
	faults   *faults
	ecr      *ecrService
	lambda   *lambdaService
	logs     *logsService
	sts      *stsService
	cfn      *cfnService
}

// Start starts a Server on its two ports.
func Start(opts Options) (*Server, error) {
	if opts.Account == "" {
		opts.Account = "123456789012"
	}
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.RegistryAddr == "" {
		opts.RegistryAddr = "127.0.0.1:0"
	}
	if opts.UpdateDelay == 0 {
		opts.UpdateDelay = 300 * time.Millisecond
	}
	if opts.Log == nil {
		opts.Log = log.New(os.Stderr, "localaws: ", log.LstdFlags)
	}
	s := &Server{opts: opts, faults: newFaults(opts.Account, opts.AllowActions)}
	if s.opts.Dir == "" {
		dir, err := os.MkdirTemp("", "localaws-")
		if err != nil {
			return nil, err
		}
		s.tempDir, s.opts.Dir = dir, dir
	}
	if err := os.MkdirAll(s.opts.Dir, 0o755); err != nil {
		return nil, err
	}
	// Writes killed halfway leave temporary files; the state they replace is whole.
	stale, _ := filepath.Glob(filepath.Join(s.opts.Dir, ".tmp-*"))
	for _, f := range stale {
		os.Remove(f)
	}
	var err error
	if s.apiLn, err = net.Listen("tcp", opts.Addr); err != nil {
		return nil, fmt.Errorf("listening on %s: %w", opts.Addr, err)
	}
	if s.regLn, err = net.Listen("tcp", opts.RegistryAddr); err != nil {
		s.apiLn.Close()
		return nil, fmt.Errorf("listening on %s: %w", opts.RegistryAddr, err)
	}
	if err := s.init(); err != nil {
		s.apiLn.Close()
		s.regLn.Close()
		return nil, err
	}
	s.api = &http.Server{Handler: http.HandlerFunc(s.serveAPI), ErrorLog: opts.Log}
	s.registry = &http.Server{Handler: s.ecr.registryHandler(), ErrorLog: opts.Log}
	go s.api.Serve(s.apiLn)
	go s.registry.Serve(s.regLn)
	return s, nil
}

func (s *Server) init() error {
	var err error
	if s.ecr, err = newECR(s.opts, s.RegistryHost(), s.faults); err != nil {
		return err
	}
	if s.logs, err = newLogs(s.opts); err != nil {
		return err
	}
	rt, err := newRuntime(s.opts, s.ecr, s.logs)
	if err != nil {
		return err
	}
	if s.lambda, err = newLambda(s.opts, s.ecr, rt); err != nil {
		return err
	}
	s.sts = &stsService{account: s.opts.Account}
	if s.cfn, err = newCFN(s.opts); err != nil {
		return err
	}
	return nil
}

// Endpoint is the URL of the AWS APIs, for AWS_ENDPOINT_URL.
func (s *Server) Endpoint() string { return "http://" + s.apiLn.Addr().String() }

// RegistryHost is the registry's host:port, the host of every repositoryUri.
func (s *Server) RegistryHost() string { return s.regLn.Addr().String() }

// Calls reports the calls made so far, as GET /_localaws/calls does.
func (s *Server) Calls() Calls { return s.faults.snapshot() }

// Requests returns the bodies of the requests received for an operation,
// keyed as Calls are ("lambda:UpdateFunctionCode", "ecr:PutImage",
// "sts:GetCallerIdentity", "registry:PUT-manifest"), oldest first: the last
// 100, each cut at 64 KiB. Injected faults do not keep a call out of it.
func (s *Server) Requests(op string) [][]byte { return s.faults.journal(op) }

// Faults lists the fault rules added, with how often each fired.
func (s *Server) Faults() []Fault { return s.faults.list() }

// Account and Region are the ones the server answers for.
func (s *Server) Account() string { return s.opts.Account }
func (s *Server) Region() string  { return s.opts.Region }

// Close stops serving and removes a temporary state directory.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.lambda.runtime.Close()
	err := errors.Join(s.api.Shutdown(ctx), s.registry.Shutdown(ctx))
	s.logs.close()
	if s.tempDir != "" {
		os.RemoveAll(s.tempDir)
	}
	return err
}

// serveAPI dispatches an AWS call: admin paths, then X-Amz-Target (JSON
// 1.1), then REST paths (Lambda), then the query protocol's Action.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			s.opts.Log.Printf("panic serving %s %s: %v", r.Method, r.URL, v)
			writeJSON11(w, nil, errorf(http.StatusInternalServerError, "ServiceException", "internal error"))
		}
	}()
	if strings.HasPrefix(r.URL.Path, "/_localaws/") {
		s.serveAdmin(w, r)
		return
	}
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		service, op, _ := strings.Cut(target, ".")
		s.faults.recordBody(r, service, op)
		if s.faults.inject(w, service, op, writeJSON11) {
			return
		}
		switch service {
		case ecrTarget:
			s.ecr.serve(w, r, op)
		case logsTarget:
			s.logs.serve(w, r, op)
		default:
			writeJSON11(w, nil, badRequest("UnknownOperationException", "unknown operation %q", target))
		}
		return
	}
	if strings.HasPrefix(r.URL.Path, "/2015-03-31/functions") {
		s.lambda.serve(w, r)
		return
	}
	if r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		s.serveQuery(w, r)
		return
	}
	writeJSON11(w, nil, notFound("UnknownOperationException", "no AWS operation at %s %s", r.Method, r.URL.Path))
}

// serveQuery dispatches a query-protocol call (STS, CloudFormation) by its Action.
func (s *Server) serveQuery(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	form, perr := url.ParseQuery(string(body))
	action := form.Get("Action")
	service, namespace := "sts", stsNamespace
	if cfnActions[action] {
		service, namespace = "cloudformation", cfnNamespace
	}
	s.faults.record(service, action, body)
	switch {
	case err != nil && asAWS(err).Status == http.StatusRequestEntityTooLarge:
		writeQuery(w, action, namespace, nil, errorf(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "Request must be smaller than %d bytes", maxBody))
	case err != nil:
		writeQuery(w, action, namespace, nil, err)
	case perr != nil:
		writeQuery(w, action, namespace, nil, badRequest("MalformedQueryString", "%v", perr))
	case !stsActions[action] && !cfnActions[action]:
		writeQuery(w, action, namespace, nil, badRequest("InvalidAction", "Could not find operation %s for version %s", action, form.Get("Version")))
	case s.faults.inject(w, service, action, queryWriter(action, namespace)):
	case service == "sts":
		s.sts.serve(w, action)
	default:
		s.cfn.serve(w, form, action)
	}
}

func queryWriter(action, namespace string) func(http.ResponseWriter, any, error) {
	return func(w http.ResponseWriter, v any, err error) { writeQuery(w, action, namespace, v, err) }
}
