package localaws

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/lambdacontainer/pulumi-lambdacontainer/internal/testenv"
)

// pipDockerfile is the Dockerfile users write for AWS's Python base image.
const pipDockerfile = `ARG BASE_IMAGE
FROM ${BASE_IMAGE}
COPY requirements.txt ${LAMBDA_TASK_ROOT}/
RUN pip install --no-cache-dir -r ${LAMBDA_TASK_ROOT}/requirements.txt -t ${LAMBDA_TASK_ROOT}
COPY app.py ${LAMBDA_TASK_ROOT}/
CMD ["app.handler"]
`

// buildPython builds files (app.py, requirements.txt) with pipDockerfile on
// the stand-in base, which it pushes to s first, with the buildkitd at addr,
// and pushes the result to name:v1 with an ECR token. It returns the build's
// log and error.
func buildPython(t *testing.T, s *Server, addr, name string, files map[string]string) (string, error) {
	t.Helper()
	repos := ecr.NewFromConfig(cfg(s))
	for _, repo := range []string{"python", name} {
		repos.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String(repo)}) // an existing one stays
	}
	auth := login(t, s)
	if err := push(s, "python", "3.11", testenv.PythonBase(t), auth); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files["Dockerfile"] = pipDockerfile
	for file, content := range files {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	basic := auth.(*authn.Basic)
	dockerConfig := t.TempDir()
	os.WriteFile(filepath.Join(dockerConfig, "config.json"), []byte(`{"auths": {"`+s.RegistryHost()+`": {"auth": "`+
		base64.StdEncoding.EncodeToString([]byte(basic.Username+":"+basic.Password))+`"}}}`), 0o600)
	cmd := exec.Command(testenv.Tool(t, "buildctl"), "--addr", addr, "build", "--progress", "plain", "--frontend", "dockerfile.v0",
		"--local", "context="+dir, "--local", "dockerfile="+dir, "--opt", "platform=linux/amd64",
		"--opt", "build-arg:BASE_IMAGE="+s.RegistryHost()+"/python:3.11",
		"--output", "type=image,name="+s.RegistryHost()+"/"+name+":v1,push=true")
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+dockerConfig)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// pipFunction builds files as buildPython does and creates a function on the image.
func pipFunction(t *testing.T, s *Server, addr, name string, files map[string]string) (*lambda.Client, string) {
	t.Helper()
	log, err := buildPython(t, s, addr, name, files)
	if err != nil {
		t.Fatalf("buildctl: %v\n%s", err, log)
	}
	c := lambda.NewFromConfig(cfg(s), func(o *lambda.Options) { o.RetryMaxAttempts = 1 })
	if _, err := c.CreateFunction(ctx, &lambda.CreateFunctionInput{FunctionName: aws.String(name), PackageType: types.PackageTypeImage,
		Role: aws.String("arn:aws:iam::123456789012:role/r"), Code: &types.FunctionCode{ImageUri: aws.String(s.RegistryHost() + "/" + name + ":v1")},
		MemorySize: aws.Int32(256), Timeout: aws.Int32(30)}); err != nil {
		t.Fatal(err)
	}
	if err := lambda.NewFunctionActiveV2Waiter(c, func(o *lambda.FunctionActiveV2WaiterOptions) { o.MinDelay = 20 * time.Millisecond }).
		Wait(ctx, &lambda.GetFunctionInput{FunctionName: aws.String(name)}, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	return c, log
}

// pipInstalled is what pip's log says it installed.
func pipInstalled(log string) string {
	for line := range strings.SplitSeq(log, "\n") {
		if _, after, ok := strings.Cut(line, "Successfully installed "); ok {
			return after
		}
	}
	return ""
}

// httpAPIEvent is an API Gateway HTTP API (payload 2.0) event.
func httpAPIEvent(method, path, body string) string {
	return `{"version": "2.0", "routeKey": "$default", "rawPath": "` + path + `", "rawQueryString": "",
		"headers": {"content-type": "application/json", "host": "api.example.test"}, "cookies": ["session=abc"],
		"requestContext": {"http": {"method": "` + method + `", "path": "` + path + `", "sourceIp": "192.0.2.1"}},
		"body": ` + strconvQuote(body) + `, "isBase64Encoded": false}`
}

// mangumApp is a FastAPI app served through mangum, as users write it.
const mangumApp = `
from fastapi import FastAPI, Request
from mangum import Mangum
from pydantic import BaseModel

app = FastAPI()
started = []

@app.on_event("startup")
def startup():
    started.append(True)

class Order(BaseModel):
    item: str
    quantity: int

@app.get("/health")
def health(request: Request):
    return {"status": "ok", "started": bool(started), "session": request.cookies.get("session")}

@app.post("/orders")
def create(order: Order):
    return {"item": order.item, "total": order.quantity * 2}

handler = Mangum(app, lifespan="auto")
`

// TestBaseImageFastAPIBehindMangum builds a FastAPI app behind mangum on
// the stand-in base with the Dockerfile users write, pip resolving fastapi's
// dependencies offline, and serves API Gateway events with it.
func TestBaseImageFastAPIBehindMangum(t *testing.T) {
	requireRunc(t)
	s := start(t, Options{UpdateDelay: 20 * time.Millisecond})
	c, log := pipFunction(t, s, testenv.Buildkitd(t), "mangum-api", map[string]string{"app.py": mangumApp, "requirements.txt": "fastapi\nmangum\n"})
	got := " " + pipInstalled(log) + " "
	for _, want := range []string{"fastapi-0.92.0", "mangum-0.17.0", "starlette-", "pydantic-", "anyio-", "sniffio-", "idna-", "typing_extensions-"} {
		if !strings.Contains(got, " "+want) {
			t.Errorf("pip did not install %s with fastapi and mangum:\n%s", want, log)
		}
	}
	for _, unwanted := range []string{"uvicorn", "PyYAML", "pip-", "setuptools"} {
		if strings.Contains(got, unwanted) {
			t.Errorf("pip installed %s, which nothing asked for: %s", unwanted, got)
		}
	}

	type result struct {
		StatusCode        int
		Headers           map[string]string
		MultiValueHeaders map[string][]string
		Cookies           []string
		Body              string
		IsBase64Encoded   bool
	}
	call := func(event string) (result, *lambda.InvokeOutput, string) {
		out, tail := invoke(t, c, "mangum-api", event)
		var r result
		json.Unmarshal(out.Payload, &r)
		return r, out, tail
	}
	r, out, tail := call(httpAPIEvent("GET", "/health", ""))
	if out.FunctionError != nil || r.StatusCode != 200 || r.Body != `{"status":"ok","started":true,"session":"abc"}` ||
		r.Headers["content-type"] != "application/json" || r.IsBase64Encoded || r.MultiValueHeaders != nil {
		t.Fatalf("GET /health through an HTTP API: %s\n%s", out.Payload, tail)
	}
	if r, out, tail = call(httpAPIEvent("POST", "/orders", `{"item": "tea"}`)); r.StatusCode != 422 || !strings.Contains(r.Body, "quantity") {
		t.Errorf("validation by pydantic: %s\n%s", out.Payload, tail)
	}
	rest := `{"resource": "/{proxy+}", "path": "/orders", "httpMethod": "POST", "headers": {"Content-Type": "application/json"},
		"multiValueHeaders": {"Content-Type": ["application/json"]}, "queryStringParameters": null, "multiValueQueryStringParameters": null,
		"requestContext": {"resourcePath": "/{proxy+}", "httpMethod": "POST", "stage": "prod", "identity": {"sourceIp": "192.0.2.2"}},
		"body": "eyJpdGVtIjogInRlYSIsICJxdWFudGl0eSI6IDN9", "isBase64Encoded": true}`
	if r, out, tail = call(rest); r.StatusCode != 200 || r.Body != `{"item":"tea","total":6}` || r.MultiValueHeaders == nil || r.Cookies != nil {
		t.Errorf("POST /orders through a REST API, base64 body: %s\n%s", out.Payload, tail)
	}

	out, tail = invoke(t, c, "mangum-api", `{"hello": "world"}`)
	var fe struct{ ErrorType, ErrorMessage string }
	json.Unmarshal(out.Payload, &fe)
	const unrecognised = "The adapter was unable to infer a handler to use for the event. This is likely related to how the Lambda function was invoked. (Are you testing locally? Make sure the request payload is valid for a supported handler.)"
	if aws.ToString(out.FunctionError) != "Unhandled" || fe.ErrorType != "RuntimeError" || fe.ErrorMessage != unrecognised ||
		!strings.Contains(tail, "[ERROR] RuntimeError: "+unrecognised) {
		t.Errorf("an event mangum can't recognise: %s\n%s", out.Payload, tail)
	}
}

// yamlApp imports PyYAML and reports the sys.path it runs with.
const yamlApp = `
import sys
import yaml

def handler(event, context):
    return {"yaml": yaml.safe_dump({"ok": True}), "path": sys.path}
`

// TestBaseImageImportsOnlyWhatRequirementsInstall proves that, as on
// Lambda, the handler can import only what requirements.txt installed into
// the task root, not the base image's own Python packages; and that pip
// works offline, finding only the wheelhouse.
func TestBaseImageImportsOnlyWhatRequirementsInstall(t *testing.T) {
	requireRunc(t)
	s := start(t, Options{UpdateDelay: 20 * time.Millisecond})
	addr := testenv.Buildkitd(t)

	c, _ := pipFunction(t, s, addr, "undeclared", map[string]string{"app.py": yamlApp, "requirements.txt": "mangum\n"})
	out, tail := invoke(t, c, "undeclared", `{}`)
	var fe struct{ ErrorType, ErrorMessage string }
	json.Unmarshal(out.Payload, &fe)
	if aws.ToString(out.FunctionError) != "Unhandled" || fe.ErrorType != "Runtime.ImportModuleError" ||
		fe.ErrorMessage != "Unable to import module 'app': No module named 'yaml'" ||
		!strings.Contains(tail, "[ERROR] Runtime.ImportModuleError: Unable to import module 'app': No module named 'yaml'") {
		t.Fatalf("yaml without PyYAML in requirements.txt must fail at init: %s\n%s", out.Payload, tail)
	}

	c, log := pipFunction(t, s, addr, "declared", map[string]string{"app.py": yamlApp, "requirements.txt": "mangum\nPyYAML\n"})
	if got := pipInstalled(log); got != "PyYAML-6.0 mangum-0.17.0" {
		t.Errorf("pip installed %q", got)
	}
	out, tail = invoke(t, c, "declared", `{}`)
	var r struct {
		YAML string
		Path []string
	}
	if err := json.Unmarshal(out.Payload, &r); err != nil || out.FunctionError != nil || r.YAML != "ok: true\n" {
		t.Fatalf("yaml with PyYAML in requirements.txt: %v %s\n%s", err, out.Payload, tail)
	}
	// As Lambda's: the task root, the layers, the standard library; no dist-packages.
	want := []string{"/var/task", "/opt/python/lib/python3.11/site-packages", "/opt/python",
		"/usr/lib/python311.zip", "/usr/lib/python3.11", "/usr/lib/python3.11/lib-dynload"}
	if !slices.Equal(r.Path, want) {
		t.Errorf("sys.path is %q, want %q", r.Path, want)
	}

	log, err := buildPython(t, s, addr, "offline", map[string]string{"app.py": yamlApp, "requirements.txt": "requests\n"})
	if err == nil || !strings.Contains(log, "Looking in links: /opt/wheelhouse") || !strings.Contains(log, "No matching distribution found for requests") {
		t.Errorf("a distribution the wheelhouse lacks must fail the build: %v\n%s", err, log)
	}
}
