package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/blang/semver"
	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/integration"
	presource "github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/property"
)

// faultCase is one row of the fault matrix: a fault at one step of a
// deployment, and what the deployment must do about it.
type faultCase struct {
	step, fault string
	rules       []string                                                            // localaws fault rules for the faulted up; each must fire
	setup       func(b *deployBench)                                                // prepares the faulted up, after its inputs were checked
	during      func(b *deployBench, cancel func()) bool                            // runs beside the faulted up, to kill, cancel or restart something; says whether it did
	run         func(b *deployBench, srv integration.Server, in property.Map) error // replaces the faulted up (b.upWith)
	edit        func(m map[string]property.Value)                                   // input changes for the faulted up only
	broken      bool                                                                // the faulted up deploys code that fails verification
	heal        func(b *deployBench)                                                // undoes what during did, before the rerun
	fails       string                                                              // "": the deployment survives the fault; else the step its error names
	cause       string                                                              // what a failure's error must say about the cause
	says        []string                                                            // more that the error must say
	drift       bool                                                                // the refresh after a failure shows drift (the update went on in Lambda)
	// observe checks what the fault must have caused, from the calls the
	// faulted up made and the provider's log lines; "" when it did.
	observe func(calls map[string]int, logged string) string
}

// throttled, failing and conflicting make fault rules for a call: two
// throttles, two 5xx responses, two "update in progress" conflicts.
func throttled(service, op string) string {
	errType := "TooManyRequestsException"
	switch service {
	case "ecr", "logs":
		errType = "ThrottlingException"
	case "registry":
		errType = "TOOMANYREQUESTS"
	case "cloudformation":
		errType = "Throttling"
	}
	return fmt.Sprintf(`{"service": %q, "operation": %q, "errorType": %q, "status": 429, "count": 2}`, service, op, errType)
}

func failing(service, op string) string {
	errType := "ServiceException"
	switch service {
	case "ecr":
		errType = "ServerException"
	case "logs":
		errType = "ServiceUnavailableException"
	case "registry":
		errType = "UNKNOWN"
	case "cloudformation":
		errType = "InternalFailure"
	}
	return fmt.Sprintf(`{"service": %q, "operation": %q, "errorType": %q, "status": 500, "count": 2}`, service, op, errType)
}

func conflicting(op string) string {
	return fmt.Sprintf(`{"service": "lambda", "operation": %q, "errorType": "ResourceConflictException", "status": 409, "count": 2,
		"message": "The operation cannot be performed at this time. An update is in progress for resource: api"}`, op)
}

// whenCalled waits until localaws has served op more often than before, then
// runs act; it says whether that happened.
func whenCalled(op string, act func(b *deployBench, cancel func())) func(b *deployBench, cancel func()) bool {
	return func(b *deployBench, cancel func()) bool {
		before := b.calls().Calls[op]
		for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if b.calls().Calls[op] > before {
				act(b, cancel)
				return true
			}
		}
		return false
	}
}

// after runs act a while after the up started.
func after(d time.Duration, act func(b *deployBench, cancel func())) func(b *deployBench, cancel func()) bool {
	return func(b *deployBench, cancel func()) bool { time.Sleep(d); act(b, cancel); return true }
}

// slowBuild makes the build take seconds, so that something can happen during it.
const slowBuild = "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY requirements.txt ${LAMBDA_TASK_ROOT}/\nRUN sleep 4\nCOPY app.py ${LAMBDA_TASK_ROOT}/\nCMD [\"app.handler\"]\n"

// callFaults are the rows for the calls of each step: throttling, 5xx
// responses, and for Lambda a conflict ("an update is in progress"), on
// every call the step makes. (ECR and CloudWatch Logs have no such conflict.)
func callFaults(create bool) []faultCase {
	steps := []struct {
		step  string
		calls [][2]string // service, operation
	}{
		{"resolve", [][2]string{{"lambda", "GetFunction"}, {"lambda", "GetAlias"}}},
		{"build", [][2]string{{"ecr", "DescribeRepositories"}, {"ecr", "GetAuthorizationToken"}, {"ecr", "DescribeImages"}, {"registry", "GET-manifest"}, {"registry", "HEAD-manifest"}, {"registry", "GET-blob"}}},
		{"push", [][2]string{{"registry", "HEAD-blob"}, {"registry", "POST-blob"}, {"registry", "PUT-blob"}, {"registry", "PUT-manifest"}}},
		{"roll", [][2]string{{"lambda", "UpdateFunctionCode"}}},
		{"publish", [][2]string{{"lambda", "PublishVersion"}, {"lambda", "GetFunctionConfiguration"}}}, // the wait for the Pending version
		{"verify", [][2]string{{"lambda", "Invoke"}, {"logs", "FilterLogEvents"}}},
		{"promote", [][2]string{{"lambda", "UpdateAlias"}}},
		{"prune", [][2]string{{"lambda", "ListVersionsByFunction"}, {"lambda", "ListAliases"}, {"lambda", "DeleteFunction"}, {"ecr", "BatchDeleteImage"}}},
	}
	if create { // a first deployment: the repository, the function and the alias are created
		steps = []struct {
			step  string
			calls [][2]string
		}{
			{"push", [][2]string{{"ecr", "CreateRepository"}}},
			{"roll", [][2]string{{"lambda", "CreateFunction"}}},
			{"promote", [][2]string{{"lambda", "CreateAlias"}}},
		}
	}
	var cases []faultCase
	for _, kind := range []string{"throttling (429, twice)", "5xx responses (twice)", "a conflict (409, an update in progress, twice)"} {
		for _, s := range steps {
			var names, rules []string
			for _, c := range s.calls {
				switch {
				case kind[0] == 't':
					rules = append(rules, throttled(c[0], c[1]))
				case kind[0] == '5':
					rules = append(rules, failing(c[0], c[1]))
				case c[0] == "lambda":
					rules = append(rules, conflicting(c[1]))
				default:
					continue
				}
				names = append(names, c[0]+":"+c[1])
			}
			if len(rules) > 0 {
				cases = append(cases, faultCase{step: s.step, fault: kind + " on " + strings.Join(names, ", "), rules: rules})
			}
		}
	}
	return cases
}

// faultMatrix is every fault a deployment to an existing function meets.
func faultMatrix() []faultCase {
	cases := callFaults(false)
	settling := func(rules ...string) func(b *deployBench, cancel func()) bool { // GetFunction polling after the update
		return whenCalled("lambda:UpdateFunctionCode", func(b *deployBench, _ func()) {
			for _, r := range rules {
				b.fault(r)
			}
		})
	}
	cases = append(cases,
		faultCase{step: "wait", fault: "throttling (429, twice) and 5xx responses (twice) on lambda:GetFunction while it settles",
			during: settling(throttled("lambda", "GetFunction"), failing("lambda", "GetFunction"))},
		faultCase{step: "wait", fault: "a conflict (409, twice) on lambda:GetFunction while it settles", during: settling(conflicting("GetFunction"))},
		faultCase{step: "build", fault: "buildkitd killed mid-build", fails: "build", cause: "build failed",
			during: after(2500*time.Millisecond, func(b *deployBench, _ func()) { b.bk.Kill() }),
			heal:   func(b *deployBench) { b.bk.Start() }},
		faultCase{step: "build", fault: "the update cancelled mid-build", fails: "build", cause: "cancelled",
			during: after(2500*time.Millisecond, func(b *deployBench, cancel func()) { cancel() })},
		faultCase{step: "push", fault: "the registry token expiring mid-push (all tokens revoked)",
			during: whenCalled("registry:PUT-blob", func(b *deployBench, _ func()) {
				http.Post(b.aws.Endpoint()+"/_localaws/registry/expire-tokens", "application/json", nil)
			}),
			observe: func(calls map[string]int, logged string) string {
				if calls["registry:refused-token"] == 0 || !strings.Contains(logged, "the registry refused the ECR token mid-build") ||
					!strings.Contains(logged, "401") && !strings.Contains(logged, "Your authorization token has expired") {
					return fmt.Sprintf("the registry never refused the revoked token with a 401 (%d refusals)", calls["registry:refused-token"])
				}
				if calls["ecr:GetAuthorizationToken"] < 2 {
					return fmt.Sprintf("no new token was minted after the refusal (%d minted)", calls["ecr:GetAuthorizationToken"])
				}
				return ""
			}},
		faultCase{step: "push", fault: "the update cancelled mid-push", fails: "push", cause: "cancelled",
			rules:  []string{`{"service": "registry", "operation": "PUT-manifest", "latencyMs": 3000, "count": 1}`},
			during: whenCalled("registry:PUT-manifest", func(b *deployBench, cancel func()) { cancel() })},
		faultCase{step: "roll", fault: "the update ending Failed (ImageAccessDenied)", fails: "roll", cause: "ImageAccessDenied",
			rules: []string{`{"service": "lambda", "operation": "UpdateFunctionCode", "failUpdate": "ImageAccessDenied", "count": 1,
				"message": "Lambda does not have permission to access the ECR image. Check the ECR permissions."}`}},
		faultCase{step: "wait", fault: "the update cancelled mid-wait; $LATEST is pointed back", fails: "wait", cause: "cancelled",
			during: whenCalled("lambda:UpdateFunctionCode", func(b *deployBench, cancel func()) {
				b.fault(`{"service": "lambda", "operation": "GetFunction", "latencyMs": 1500, "count": 1}`)
				time.Sleep(200 * time.Millisecond)
				cancel()
			})},
		faultCase{step: "verify", fault: "the update cancelled mid-verify; $LATEST is pointed back", fails: "verify", cause: "cancelled",
			rules:  []string{`{"service": "lambda", "operation": "Invoke", "latencyMs": 2000, "count": 1}`},
			during: whenCalled("lambda:Invoke", func(b *deployBench, cancel func()) { time.Sleep(300 * time.Millisecond); cancel() })},
		faultCase{step: "wait", fault: "localaws restarted mid-wait",
			during: whenCalled("lambda:UpdateFunctionCode", func(b *deployBench, _ func()) { b.restartAWS() })},
		faultCase{step: "verify", fault: "a verification timeout (the invocation answers after 4 s; verify.timeoutSeconds is 2)", fails: "verify", cause: "did not answer within 2s",
			rules: []string{`{"service": "lambda", "operation": "Invoke", "latencyMs": 4000, "count": 1}`},
			edit: func(m map[string]property.Value) {
				v := m["verify"].AsMap().AsMap()
				v["timeoutSeconds"] = property.New(2.0)
				m["verify"] = property.New(v)
			}},
		faultCase{step: "verify", fault: "the new version fails verification, and the rollback's own lambda:UpdateFunctionCode is throttled and gets 5xx responses",
			fails: "verify", cause: "failed verification", broken: true,
			during: whenCalled("lambda:Invoke", func(b *deployBench, _ func()) {
				b.fault(throttled("lambda", "UpdateFunctionCode"))
				b.fault(failing("lambda", "UpdateFunctionCode"))
			})},
		faultCase{step: "promote", fault: "lambda:UpdateAlias failing on every attempt (500); $LATEST keeps the verified code", fails: "promote", cause: "ServiceException", drift: true,
			rules: []string{`{"service": "lambda", "operation": "UpdateAlias", "errorType": "ServiceException", "status": 500}`}},
		faultCase{step: "prune", fault: "ecr:BatchDeleteImage failing on every attempt (500): the deployment stands, with a warning",
			rules: []string{`{"service": "ecr", "operation": "BatchDeleteImage", "errorType": "ServerException", "status": 500}`}},
		faultCase{step: "prune", fault: "throttling (429, twice) and 5xx responses (twice) on ecr:DescribeImages listing the images to prune",
			during: whenCalled("lambda:PublishVersion", func(b *deployBench, _ func()) { // the build's lookups are over by then
				b.fault(throttled("ecr", "DescribeImages"))
				b.fault(failing("ecr", "DescribeImages"))
			})},
		faultCase{step: "resolve", fault: "throttling (429, twice) and 5xx responses (twice) on cloudformation:DescribeStacks (functionFromStack)",
			rules: []string{throttled("cloudformation", "DescribeStacks"), failing("cloudformation", "DescribeStacks")},
			setup: func(b *deployBench) { b.declareStack("orders", map[string]string{"ApiFunction": "api"}) },
			edit: func(m map[string]property.Value) {
				delete(m, "function")
				m["functionFromStack"] = property.New(map[string]property.Value{"stackName": property.New("orders"), "outputKey": property.New("ApiFunction")})
			}},
		faultCase{step: "analyze", fault: "the update cancelled mid-analysis (hashing a new 1 GiB file)", fails: "analyze", cause: "cancelled",
			setup: func(b *deployBench) {
				big, err := os.Create(filepath.Join(b.dir, "weights.bin"))
				if err == nil {
					err = big.Truncate(1 << 30) // sparse
					big.Close()
				}
				if err != nil {
					b.t.Fatal(err)
				}
			},
			during: whenCalled("lambda:GetAlias", func(b *deployBench, cancel func()) { time.Sleep(100 * time.Millisecond); cancel() }),
			heal:   func(b *deployBench) { os.Remove(filepath.Join(b.dir, "weights.bin")) }},
		faultCase{step: "verify", fault: "the new version fails verification, and the rollback's lambda:DeleteFunction of the failed version is throttled and gets 5xx responses",
			fails: "verify", cause: "failed verification", says: []string{"was deleted"}, broken: true,
			during: whenCalled("lambda:Invoke", func(b *deployBench, _ func()) {
				b.fault(throttled("lambda", "DeleteFunction"))
				b.fault(failing("lambda", "DeleteFunction"))
			})},
		faultCase{step: "release", fault: "throttling (429, twice) and 5xx responses (twice) on lambda:DeleteAlias, destroying a second deployment that adopted the function and created the alias canary",
			rules: []string{throttled("lambda", "DeleteAlias"), failing("lambda", "DeleteAlias")},
			run: func(b *deployBench, srv integration.Server, in property.Map) error {
				if _, err := b.upWith(srv, in); err != nil {
					return err
				}
				canary := presource.URN(strings.Replace(string(urn), "::api", "::canary", 1))
				adopt := in.Set("alias", property.New("canary")).Delete("functionSettings")
				created, err := srv.Create(p.CreateRequest{Urn: canary, Properties: adopt})
				if err != nil {
					return fmt.Errorf("the deployment adopting the function: %w", err)
				}
				if str(created.Properties, "managedAlias") != "true" {
					return fmt.Errorf("the adopting deployment did not create the alias canary: %v", created.Properties)
				}
				if err := srv.Delete(p.DeleteRequest{Urn: canary, ID: "canary", Properties: created.Properties}); err != nil {
					return fmt.Errorf("destroying the adopting deployment: %w", err)
				}
				if _, err := b.lambda.GetAlias(context.Background(), &lambda.GetAliasInput{FunctionName: aws.String("api"), Name: aws.String("canary")}); err == nil {
					return errors.New("the alias canary survived the destroy of the deployment that created it")
				}
				return nil
			}},
	)
	return cases
}

// refTagFaults are the rows for the reference tag a first deployment puts
// on its image once the function exists: throttling and 5xx responses on
// that PUT-manifest, which comes after lambda:CreateFunction.
func refTagFaults() []faultCase {
	var cases []faultCase
	for kind, rule := range map[string]string{"throttling (429, twice)": throttled("registry", "PUT-manifest"), "5xx responses (twice)": failing("registry", "PUT-manifest")} {
		cases = append(cases, faultCase{step: "roll", fault: kind + " on registry:PUT-manifest of the reference tag, after lambda:CreateFunction",
			during: whenCalled("lambda:CreateFunction", func(b *deployBench, _ func()) { b.fault(rule) })})
	}
	slices.SortFunc(cases, func(a, b faultCase) int { return strings.Compare(b.fault, a.fault) })
	return cases
}

// declareStack declares a CloudFormation stack with outputs in localaws.
func (b *deployBench) declareStack(name string, outputs map[string]string) {
	body, _ := json.Marshal(map[string]any{"outputs": outputs})
	req, _ := http.NewRequest(http.MethodPut, b.aws.Endpoint()+"/_localaws/stacks/"+name, bytes.NewReader(body))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		b.t.Fatalf("declaring the stack %s: %v %v", name, err, resp)
	}
}

// logCapture keeps the provider's log lines (pulumi-go-provider logs to
// slog's default logger outside an engine).
type logCapture struct {
	mu    sync.Mutex
	lines []string
}

func (c *logCapture) Enabled(context.Context, slog.Level) bool { return true }
func (c *logCapture) WithAttrs([]slog.Attr) slog.Handler       { return c }
func (c *logCapture) WithGroup(string) slog.Handler            { return c }
func (c *logCapture) Handle(_ context.Context, r slog.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines = append(c.lines, r.Message)
	return nil
}

// take returns the lines logged since the last take.
func (c *logCapture) take() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := strings.Join(c.lines, "\n")
	c.lines = nil
	return s
}

// brokenApp fails verification: it answers 500.
func brokenApp(marker string) string {
	return app(marker, "") + "\n\ndef handler(event, context):\n    raise RuntimeError(\"broken on purpose\")\n"
}

// TestFaultMatrix deploys through every fault of callFaults(true) (first
// deployments) and faultMatrix (updates), one after the other, and checks
// for each that the fault really happened, that the function still serves
// through the alias (the previous version after a failure), that a refresh
// shows no drift (or exactly the drift expected), that an up without the
// fault converges to the new version, and that an error names the step, the
// cause and the fix. It writes the results to docs/reliability.md.
func TestFaultMatrix(t *testing.T) {
	b := newDeployBench(t)
	logs := &logCapture{}
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(logs))
	keep1 := func(m map[string]property.Value) { m["keepVersions"] = property.New(1.0) }
	var rows []string
	creates := append(callFaults(true), refTagFaults()...)
	only := regexp.MustCompile(os.Getenv("FAULT_ROWS")) // to run some rows only, while working on them
	for i, c := range append(creates, faultMatrix()...) {
		create := i < len(creates)
		if !create && !only.MatchString(c.fault) {
			continue
		}
		base := keep1
		if create { // a first deployment: no function, alias or repository (a new one each time)
			if b.state.Len() > 0 {
				if err := b.srv.Delete(p.DeleteRequest{Urn: urn, ID: "api", Properties: b.state}); err != nil {
					t.Fatal(err)
				}
				b.state, b.inputs, b.failed = property.Map{}, property.Map{}, false
			}
			base = func(m map[string]property.Value) {
				keep1(m)
				m["repository"] = property.New(fmt.Sprintf("api-first-%d", i))
			}
		}
		marker := fmt.Sprintf("case-%d", i)
		b.write("app.py", app(marker, ""))
		if c.broken {
			b.write("app.py", brokenApp(marker))
		}
		dockerfile, _ := os.ReadFile(b.dir + "/Dockerfile")
		if strings.Contains(c.fault, "mid-build") {
			b.write("Dockerfile", slowBuild)
		}
		var before, previous string
		if !create {
			_, before = b.function()
			previous = b.invokeAlias()
		}
		edit := base
		if c.edit != nil {
			edit = func(m map[string]property.Value) { base(m); c.edit(m) }
		}
		in := b.args(edit)
		if c.setup != nil {
			c.setup(b)
		}
		b.clearFaults()
		for _, rule := range c.rules {
			b.fault(rule)
		}
		logs.take()
		calls := b.calls()
		srv := b.srv
		ctx, cancel := context.WithCancel(context.Background())
		if c.during != nil {
			srv = cancellableServer(t, ctx)
		}
		happened := make(chan bool, 1)
		go func() {
			if c.during != nil {
				happened <- c.during(b, cancel)
			}
			close(happened)
		}()
		var err error
		if c.run != nil {
			err = c.run(b, srv, in)
		} else {
			_, err = b.upWith(srv, in)
		}
		duringHappened := <-happened
		cancel()
		made := diffCalls(calls, b.calls(), slices.Collect(maps.Keys(b.calls().Calls))...)

		var problems []string
		check := func(ok bool, format string, a ...any) {
			if !ok {
				problems = append(problems, fmt.Sprintf(format, a...))
			}
		}
		if c.during != nil {
			check(duringHappened, "what should happen during the deployment never did")
		}
		for _, f := range b.aws.Faults() {
			check(f.Fired > 0, "the fault on %s:%s never fired", f.Service, f.Operation)
		}
		if c.observe != nil {
			problem := c.observe(made, logs.take())
			check(problem == "", "%s", problem)
		}
		b.clearFaults()
		if c.heal != nil {
			c.heal(b)
		}
		serving := b.invokeAlias()
		switch {
		case c.fails == "":
			check(err == nil, "the deployment failed: %v", err)
			check(strings.Contains(serving, marker), "the alias does not serve the new version: %s", serving)
		default:
			check(err != nil, "the deployment did not fail")
			check(serving == previous, "the alias serves %s, not the previous version %s", serving, previous)
			if err != nil {
				msg := err.Error()
				t.Logf("%s / %s: %s", c.step, c.fault, msg)
				check(strings.HasPrefix(msg, c.fails+":"), "the error does not name the step %s: %v", c.fails, msg)
				for _, want := range append([]string{c.cause}, c.says...) {
					check(strings.Contains(msg, want), "the error does not say %q: %v", want, msg)
				}
				check(fixMarker.MatchString(msg), "the error gives no fix (no \"Fix:\"): %v", msg)
			}
		}
		// A refresh of the state recorded (unless the failure left none).
		if b.state.Len() > 0 {
			resp, rerr := b.srv.Read(p.ReadRequest{Urn: urn, ID: "api", Properties: b.state, Inputs: b.inputs})
			drifted := rerr == nil && strings.HasPrefix(str(resp.Inputs, "sourceHash"), drifted)
			check(rerr == nil && drifted == c.drift, "a refresh shows drift %v (want %v): %v", drifted, c.drift, rerr)
			if rerr == nil && drifted {
				b.state, b.inputs = resp.Properties, resp.Inputs
			}
		}
		// The rerun without the fault converges.
		b.write("Dockerfile", string(dockerfile))
		b.write("app.py", app(marker, ""))
		_, rerr := b.up(b.args(base))
		_, now := b.function()
		check(rerr == nil, "the rerun failed: %v", rerr)
		check(strings.Contains(b.invokeAlias(), marker) && now != before, "the rerun does not serve the new version (alias %s, was %s)", now, before)

		outcome := "survived: retried, deployed"
		if c.fails != "" {
			outcome = "failed at `" + c.fails + "`; the previous version kept serving"
		}
		result := "✓ all four hold"
		if len(problems) > 0 {
			result = "✗ " + strings.Join(problems, "; ")
			t.Errorf("%s / %s: %s", c.step, c.fault, strings.Join(problems, "; "))
		}
		kind := "update"
		if create {
			kind = "first deployment"
		}
		rows = append(rows, fmt.Sprintf("| %s | %s | %s | %s | %s |", c.step, kind, c.fault, outcome, result))
	}
	doc := "# Reliability: the fault matrix\n\nGenerated by `TestFaultMatrix` (provider/reliability_test.go) on every test run, against a real buildkitd, localaws and runc. " +
		"Each row deploys a one-file change through the fault (a first deployment, which creates the repository, the function and the alias, or an update), " +
		"makes sure the fault really happened (localaws counts how often each injected fault fired), then checks: " +
		"(1) the function serves through its alias (the previous version after a failure); " +
		"(2) a refresh shows no drift, or exactly the drift expected; (3) `pulumi up` without the fault converges to the new version; " +
		"(4) a failure's error names the step, the cause and the fix (`Fix: ...`). ECR and CloudWatch Logs have no conflict error, so only Lambda's calls get conflict rows. " +
		"`resolve` is finding the function and its alias before anything else; `release` is a destroy. Published versions stay Pending for 300 ms, so every deployment waits for its version to become Active.\n\n" +
		"| step | deployment | fault | outcome | checks |\n|---|---|---|---|---|\n" + strings.Join(rows, "\n") + "\n"
	if os.Getenv("FAULT_ROWS") != "" {
		return // a partial run: the document stays as the last whole run wrote it
	}
	if err := os.WriteFile("../docs/reliability.md", []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
}

// fixMarker is how errors give their fix: "Fix: ..." (a diagnosis), or
// "...; fix: ..." within a sentence.
var fixMarker = regexp.MustCompile(`(^|[\s.;:])[Ff]ix: \S`)

// cancellableServer is a provider whose every call ends when ctx does, as
// the engine cancels a provider on Ctrl-C.
func cancellableServer(t *testing.T, ctx context.Context) integration.Server {
	s, err := integration.NewServer(ctx, Name, semver.MustParse(Version), integration.WithProvider(New()))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Configure(p.ConfigureRequest{Args: property.NewMap(nil)}); err != nil {
		t.Fatal(err)
	}
	return s
}
