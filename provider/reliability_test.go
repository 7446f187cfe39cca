package provider

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/blang/semver"
	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/integration"
	"github.com/pulumi/pulumi/sdk/v3/go/property"
)

// faultCase is one row of the fault matrix: a fault at one step of a
// deployment, and what the deployment must do about it.
type faultCase struct {
	step, fault string
	rules       []string                            // localaws fault rules for the faulted up
	during      func(b *deployBench, cancel func()) // runs beside the faulted up, to kill, cancel or restart something
	edit        func(m map[string]property.Value)   // input changes for the faulted up only
	heal        func(b *deployBench)                // undoes what during did, before the rerun
	fails       string                              // "": the deployment survives the fault; else the step its error names
	drift       bool                                // the refresh after a failure shows drift (the update went on in Lambda)
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
	}
	return fmt.Sprintf(`{"service": %q, "operation": %q, "errorType": %q, "status": 429, "count": 2}`, service, op, errType)
}

func failing(service, op string) string {
	errType := "ServiceException"
	if service == "registry" {
		errType = "UNKNOWN"
	}
	return fmt.Sprintf(`{"service": %q, "operation": %q, "errorType": %q, "status": 500, "count": 2}`, service, op, errType)
}

func conflicting(op string) string {
	return fmt.Sprintf(`{"service": "lambda", "operation": %q, "errorType": "ResourceConflictException", "status": 409, "count": 2,
		"message": "The operation cannot be performed at this time. An update is in progress for resource: api"}`, op)
}

// whenCalled waits until localaws has served op more often than before, then runs act.
func whenCalled(op string, act func(b *deployBench, cancel func())) func(b *deployBench, cancel func()) {
	return func(b *deployBench, cancel func()) {
		before := b.calls().Calls[op]
		for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if b.calls().Calls[op] > before {
				act(b, cancel)
				return
			}
		}
	}
}

// slowBuild makes the build take seconds, so that something can happen during it.
const slowBuild = "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY requirements.txt ${LAMBDA_TASK_ROOT}/\nRUN sleep 4\nCOPY app.py ${LAMBDA_TASK_ROOT}/\nCMD [\"app.handler\"]\n"

func faultMatrix() []faultCase {
	var cases []faultCase
	for _, s := range []struct {
		step  string
		calls [][2]string // service, operation
	}{
		{"analyze", [][2]string{{"lambda", "GetFunction"}, {"lambda", "GetAlias"}}},
		{"build", [][2]string{{"ecr", "DescribeRepositories"}, {"ecr", "GetAuthorizationToken"}, {"ecr", "DescribeImages"}, {"registry", "GET-manifest"}}},
		{"push", [][2]string{{"registry", "PUT-blob"}, {"registry", "PUT-manifest"}}},
		{"roll", [][2]string{{"lambda", "UpdateFunctionCode"}}},
		{"publish", [][2]string{{"lambda", "PublishVersion"}}},
		{"verify", [][2]string{{"lambda", "Invoke"}, {"logs", "FilterLogEvents"}}},
		{"promote", [][2]string{{"lambda", "UpdateAlias"}}},
		{"prune", [][2]string{{"lambda", "ListVersionsByFunction"}, {"lambda", "ListAliases"}, {"ecr", "BatchDeleteImage"}}},
	} {
		var names []string
		var throttles, errors []string
		for _, c := range s.calls {
			names = append(names, c[0]+":"+c[1])
			throttles = append(throttles, throttled(c[0], c[1]))
			errors = append(errors, failing(c[0], c[1]))
		}
		calls := strings.Join(names, ", ")
		cases = append(cases,
			faultCase{step: s.step, fault: "throttling (429, twice) on " + calls, rules: throttles},
			faultCase{step: s.step, fault: "5xx responses (twice) on " + calls, rules: errors})
		if s.calls[0][0] == "lambda" && s.step != "analyze" && s.step != "verify" && s.step != "prune" {
			cases = append(cases, faultCase{step: s.step, fault: "a conflict (409, an update in progress, twice) on " + calls,
				rules: []string{conflicting(s.calls[0][1])}})
		}
	}
	// "wait" is the GetFunction polling after the update.
	cases = append(cases,
		faultCase{step: "wait", fault: "throttling (429, twice) and 5xx responses (twice) on lambda:GetFunction while it settles",
			during: whenCalled("lambda:UpdateFunctionCode", func(b *deployBench, _ func()) {
				b.fault(throttled("lambda", "GetFunction"))
				b.fault(failing("lambda", "GetFunction"))
			})},
		faultCase{step: "build", fault: "buildkitd killed mid-build", fails: "publish",
			edit:   func(m map[string]property.Value) {},
			during: func(b *deployBench, _ func()) { time.Sleep(2500 * time.Millisecond); b.bk.Kill() },
			heal:   func(b *deployBench) { b.bk.Start() }},
		faultCase{step: "build", fault: "the update cancelled mid-build", fails: "publish",
			during: func(b *deployBench, cancel func()) { time.Sleep(2500 * time.Millisecond); cancel() }},
		faultCase{step: "push", fault: "the registry token expiring mid-push (all tokens revoked)",
			during: whenCalled("registry:PUT-blob", func(b *deployBench, _ func()) {
				http.Post(b.aws.Endpoint()+"/_localaws/registry/expire-tokens", "application/json", nil)
			})},
		faultCase{step: "push", fault: "the update cancelled mid-push", fails: "publish",
			rules:  []string{`{"service": "registry", "operation": "PUT-manifest", "latencyMs": 3000}`},
			during: whenCalled("registry:PUT-manifest", func(b *deployBench, cancel func()) { cancel() })},
		faultCase{step: "roll", fault: "the update ending Failed (ImageAccessDenied)", fails: "roll",
			rules: []string{`{"service": "lambda", "operation": "UpdateFunctionCode", "failUpdate": "ImageAccessDenied", "count": 1,
				"message": "Lambda does not have permission to access the ECR image. Check the ECR permissions."}`}},
		faultCase{step: "wait", fault: "the update cancelled mid-wait", fails: "roll", drift: true,
			rules:  []string{`{"service": "lambda", "operation": "GetFunction", "latencyMs": 1500}`},
			during: whenCalled("lambda:UpdateFunctionCode", func(b *deployBench, cancel func()) { time.Sleep(200 * time.Millisecond); cancel() })},
		faultCase{step: "wait", fault: "localaws restarted mid-wait",
			during: whenCalled("lambda:UpdateFunctionCode", func(b *deployBench, _ func()) { b.restartAWS() })},
		faultCase{step: "verify", fault: "a verification timeout (the invocation answers after 4 s; verify.timeoutSeconds is 2)", fails: "verify",
			rules: []string{`{"service": "lambda", "operation": "Invoke", "latencyMs": 4000, "count": 1}`},
			edit: func(m map[string]property.Value) {
				v := m["verify"].AsMap().AsMap()
				v["timeoutSeconds"] = property.New(2.0)
				m["verify"] = property.New(v)
			}},
		faultCase{step: "promote", fault: "lambda:UpdateAlias failing on every attempt (500); $LATEST keeps the verified code", fails: "promote", drift: true,
			rules: []string{`{"service": "lambda", "operation": "UpdateAlias", "errorType": "ServiceException", "status": 500}`}},
		faultCase{step: "prune", fault: "ecr:BatchDeleteImage failing on every attempt (500): the deployment stands, with a warning",
			rules: []string{`{"service": "ecr", "operation": "BatchDeleteImage", "errorType": "ServerException", "status": 500}`}},
	)
	return cases
}

// TestFaultMatrix deploys through every fault of faultMatrix, one after the
// other, and checks for each that the function still serves through the
// alias (the previous version after a failure), that a refresh shows no
// drift (or exactly the drift expected), that an up without the fault
// converges to the new version, and that an error names the step, the
// cause and the fix. It writes the results to docs/reliability.md.
func TestFaultMatrix(t *testing.T) {
	b := newDeployBench(t)
	base := b.args(func(m map[string]property.Value) { m["keepVersions"] = property.New(1.0) })
	b.mustUp(base)
	var rows []string
	for i, c := range faultMatrix() {
		marker := fmt.Sprintf("case-%d", i)
		b.write("app.py", app(marker, ""))
		dockerfile, _ := os.ReadFile(b.dir + "/Dockerfile")
		if strings.Contains(c.fault, "mid-build") {
			b.write("Dockerfile", slowBuild)
		}
		_, before := b.function()
		previous := b.invokeAlias()
		edit := func(m map[string]property.Value) { m["keepVersions"] = property.New(1.0) }
		if c.edit != nil {
			edit = func(m map[string]property.Value) { m["keepVersions"] = property.New(1.0); c.edit(m) }
		}
		in := b.args(edit)
		http.DefaultClient.Do(mustReq(http.MethodDelete, b.aws.Endpoint()+"/_localaws/faults"))
		for _, rule := range c.rules {
			b.fault(rule)
		}
		srv := b.srv
		ctx, cancel := context.WithCancel(context.Background())
		if c.during != nil {
			srv = cancellableServer(t, ctx)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			if c.during != nil {
				c.during(b, cancel)
			}
		}()
		_, err := b.upWith(srv, in)
		<-done
		cancel()
		http.DefaultClient.Do(mustReq(http.MethodDelete, b.aws.Endpoint()+"/_localaws/faults"))
		if c.heal != nil {
			c.heal(b)
		}

		var problems []string
		check := func(ok bool, format string, a ...any) {
			if !ok {
				problems = append(problems, fmt.Sprintf(format, a...))
			}
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
				check(strings.HasPrefix(msg, c.fails+":"), "the error does not name the step %s: %v", c.fails, msg)
				check(strings.Contains(strings.ToLower(msg), "fix"), "the error gives no fix: %v", msg)
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
		_, rerr := b.up(b.args(func(m map[string]property.Value) { m["keepVersions"] = property.New(1.0) }))
		_, after := b.function()
		check(rerr == nil, "the rerun failed: %v", rerr)
		check(strings.Contains(b.invokeAlias(), marker) && after != before, "the rerun does not serve the new version (alias %s, was %s)", after, before)

		outcome := "survived: retried, deployed"
		if c.fails != "" {
			outcome = "failed at `" + c.fails + "`; the previous version kept serving"
		}
		result := "✓ all four hold"
		if len(problems) > 0 {
			result = "✗ " + strings.Join(problems, "; ")
			t.Errorf("%s / %s: %s", c.step, c.fault, strings.Join(problems, "; "))
		}
		rows = append(rows, fmt.Sprintf("| %s | %s | %s | %s |", c.step, c.fault, outcome, result))
	}
	doc := "# Reliability: the fault matrix\n\nGenerated by `TestFaultMatrix` (provider/reliability_test.go) on every test run, against a real buildkitd, localaws and runc. " +
		"Each row deploys a one-file change through the fault, then checks: (1) the function serves through its alias (the previous version after a failure); " +
		"(2) a refresh shows no drift, or exactly the drift expected; (3) `pulumi up` without the fault converges to the new version; " +
		"(4) a failure's error names the step, the cause and the fix.\n\n| step | fault | outcome | checks |\n|---|---|---|---|\n" + strings.Join(rows, "\n") + "\n"
	if err := os.WriteFile("../docs/reliability.md", []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustReq(method, url string) *http.Request {
	req, _ := http.NewRequest(method, url, nil)
	return req
}

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
