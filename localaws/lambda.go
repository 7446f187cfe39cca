package localaws

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// lambdaService is the Lambda control plane: functions of PackageType
// Image, their versions and aliases, and the State / LastUpdateStatus
// transitions, which settle lazily when the function is next read.
type lambdaService struct {
	mu      sync.Mutex
	account string
	region  string
	delay   time.Duration // how long an update settles
	publish time.Duration // how long a published version stays Pending
	ecr     *ecrService
	runtime *runtime
	state   map[string]*function
	store   store
}

// function is one Lambda function: $LATEST plus published versions.
type function struct {
	Latest      funcConfig        `json:"latest"`
	Versions    []funcConfig      `json:"versions"`
	Aliases     map[string]*alias `json:"aliases"`
	Tags        map[string]string `json:"tags,omitempty"`
	NextVersion int               `json:"nextVersion"`
	Pending     *pendingUpdate    `json:"pending,omitempty"` // an update settling
	// Publishing holds the versions still Pending, by version.
	Publishing map[string]*publication `json:"publishing,omitempty"`
}

// publication is a version being published: it becomes Active (or Failed,
// with the update it was published with) once Until passed and that update
// settled.
type publication struct {
	Until      time.Time `json:"until"`
	WithUpdate bool      `json:"withUpdate,omitempty"` // waits for the update in progress, and takes its outcome
	ReasonCode string    `json:"reasonCode,omitempty"` // the update's failure
	Reason     string    `json:"reason,omitempty"`
}

// pendingUpdate is the outcome an update settles to once its delay passed.
type pendingUpdate struct {
	Until      time.Time `json:"until"`
	Previous   imageRef  `json:"previous"` // what $LATEST runs until the update settles
	Create     bool      `json:"create"`
	ReasonCode string    `json:"reasonCode,omitempty"` // empty: success
	Reason     string    `json:"reason,omitempty"`
}

type funcConfig struct {
	FunctionName     string            `json:"FunctionName"`
	FunctionArn      string            `json:"FunctionArn"`
	Role             string            `json:"Role"`
	Description      string            `json:"Description"`
	Timeout          int               `json:"Timeout"`
	MemorySize       int               `json:"MemorySize"`
	LastModified     string            `json:"LastModified"`
	CodeSha256       string            `json:"CodeSha256"`
	CodeSize         int64             `json:"CodeSize"`
	Version          string            `json:"Version"`
	Environment      *environment      `json:"Environment,omitempty"`
	RevisionId       string            `json:"RevisionId"`
	State            string            `json:"State"`
	StateReason      string            `json:"StateReason,omitempty"`
	StateReasonCode  string            `json:"StateReasonCode,omitempty"`
	LastUpdateStatus string            `json:"LastUpdateStatus"`
	UpdateReason     string            `json:"LastUpdateStatusReason,omitempty"`
	UpdateReasonCode string            `json:"LastUpdateStatusReasonCode,omitempty"`
	PackageType      string            `json:"PackageType"`
	Architectures    []string          `json:"Architectures"`
	EphemeralStorage map[string]int    `json:"EphemeralStorage"`
	LoggingConfig    map[string]string `json:"LoggingConfig"`
	Image            imageRef          `json:"Image"` // GetFunction answers it as Code
}

type imageRef struct {
	URI      string `json:"uri"`
	Resolved string `json:"resolved"`
}

type environment struct {
	Variables map[string]string `json:"Variables"`
}

type alias struct {
	AliasArn        string         `json:"AliasArn"`
	Name            string         `json:"Name"`
	FunctionVersion string         `json:"FunctionVersion"`
	Description     string         `json:"Description"`
	RevisionId      string         `json:"RevisionId"`
	RoutingConfig   *routingConfig `json:"RoutingConfig,omitempty"`
}

type routingConfig struct {
	AdditionalVersionWeights map[string]float64 `json:"AdditionalVersionWeights,omitempty"`
}

var (
	functionPath = regexp.MustCompile(`^/2015-03-31/functions/?([^/]*)(?:/(code|configuration|versions|aliases|invocations)(?:/([^/]+))?)?/?$`)
	lambdaName   = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	aliasNameRe  = regexp.MustCompile(`^(?:[A-Za-z0-9_-]*[A-Za-z_-][A-Za-z0-9_-]*)$`)
	imageURIRe   = regexp.MustCompile(`^([^/]+)/(.+?)(?::([A-Za-z0-9_.-]+)|@(sha256:[0-9a-f]{64}))$`)
)

func newLambda(opts Options, e *ecrService, rt *runtime) (*lambdaService, error) {
	l := &lambdaService{account: opts.Account, region: opts.Region, delay: opts.UpdateDelay, publish: opts.PublishDelay, ecr: e, runtime: rt, state: map[string]*function{}, store: newStore(opts.Dir, "lambda")}
	return l, l.store.load(&l.state)
}

func (l *lambdaService) arn(name string) string {
	return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", l.region, l.account, name)
}

func lambdaTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000+0000") }

// resolveName accepts a name, a full or partial ARN, and an optional
// ":qualifier", and returns the function's name and the qualifier.
func resolveName(raw string) (string, string, error) {
	name := raw
	if strings.HasPrefix(name, "arn:") {
		parts := strings.Split(name, ":")
		if len(parts) < 7 || parts[2] != "lambda" || parts[5] != "function" {
			return "", "", badRequest("InvalidParameterValueException", "%q is not a Lambda function ARN", raw)
		}
		name = strings.Join(parts[6:], ":")
	} else if parts := strings.Split(name, ":"); len(parts) >= 3 && parts[1] == "function" {
		name = strings.Join(parts[2:], ":")
	}
	name, qualifier, _ := strings.Cut(name, ":")
	if !lambdaName.MatchString(name) {
		return "", "", badRequest("ValidationException", "1 validation error detected: Value '%s' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?", raw)
	}
	return name, qualifier, nil
}

func (l *lambdaService) notFound(name string) error {
	return notFound("ResourceNotFoundException", "Function not found: %s", l.arn(name))
}

// function finds a function and settles a finished update; the caller holds l.mu.
func (l *lambdaService) function(name string) (*function, error) {
	f, ok := l.state[name]
	if !ok {
		return nil, l.notFound(name)
	}
	l.settle(f)
	return f, nil
}

// settle moves a function whose update delay has passed to its outcome,
// and versions whose publication has finished to theirs.
func (l *lambdaService) settle(f *function) {
	now := time.Now()
	changed := false
	if p := f.Pending; p != nil && !now.Before(p.Until) {
		settleUpdate(f, p)
		f.Pending, changed = nil, true
	}
	for i := range f.Versions {
		v := &f.Versions[i]
		if v.State != "Pending" {
			continue
		}
		pub := f.Publishing[v.Version]
		if pub == nil { // recorded by an older localaws: it settles with the update
			pub = &publication{WithUpdate: f.Pending != nil}
		}
		if pub.WithUpdate || now.Before(pub.Until) {
			continue
		}
		v.State, v.StateReasonCode, v.StateReason = "Active", "", ""
		v.LastUpdateStatus, v.UpdateReasonCode, v.UpdateReason = "Successful", "", ""
		if pub.ReasonCode != "" {
			v.State, v.StateReasonCode, v.StateReason = "Failed", pub.ReasonCode, pub.Reason
			v.LastUpdateStatus, v.UpdateReasonCode, v.UpdateReason = "Failed", pub.ReasonCode, pub.Reason
		}
		delete(f.Publishing, v.Version)
		changed = true
	}
	if changed {
		l.save()
	}
}

// settleUpdate gives $LATEST its update's outcome, and hands it to the
// versions published with the update.
func settleUpdate(f *function, p *pendingUpdate) {
	c := &f.Latest
	switch {
	case p.Create && p.ReasonCode != "":
		c.State, c.StateReasonCode, c.StateReason = "Failed", p.ReasonCode, p.Reason
		c.LastUpdateStatus, c.UpdateReasonCode, c.UpdateReason = "Failed", p.ReasonCode, p.Reason
	case p.Create:
		c.State, c.StateReasonCode, c.StateReason = "Active", "", ""
		c.LastUpdateStatus = "Successful"
	case p.ReasonCode != "":
		c.LastUpdateStatus, c.UpdateReasonCode, c.UpdateReason = "Failed", p.ReasonCode, p.Reason
		if p.Previous.Resolved != "" { // a failed update leaves the previous code serving
			c.Image = p.Previous
			c.CodeSha256 = p.Previous.Resolved[strings.LastIndex(p.Previous.Resolved, ":")+1:]
		}
	default:
		c.LastUpdateStatus, c.UpdateReasonCode, c.UpdateReason = "Successful", "", ""
	}
	for _, pub := range f.Publishing {
		if pub.WithUpdate {
			pub.WithUpdate, pub.ReasonCode, pub.Reason = false, p.ReasonCode, p.Reason
		}
	}
}

func (l *lambdaService) save() {
	if err := l.store.save(l.state); err != nil {
		l.ecr.log("saving Lambda state: %v", err)
	}
}

// busy refuses a change while an update settles, as Lambda does with a 409.
func (l *lambdaService) busy(f *function) error {
	if f.Pending == nil {
		return nil
	}
	if f.Pending.Create {
		return errorf(http.StatusConflict, "ResourceConflictException", "The operation cannot be performed at this time. The function is currently in the following state: Pending")
	}
	return errorf(http.StatusConflict, "ResourceConflictException", "The operation cannot be performed at this time. An update is in progress for resource: %s", f.Latest.FunctionArn)
}

// resolveImage checks an ImageUri against ECR and returns the digest it
// resolves to now, or the reason code and reason an update fails with.
func (l *lambdaService) resolveImage(uri, arch string) (resolved, digest, code, reason string) {
	m := imageURIRe.FindStringSubmatch(uri)
	if m == nil {
		return "", "", "InvalidImage", fmt.Sprintf("Source image %s is not a valid image URI", uri)
	}
	host, repoName, tag, dig := m[1], m[2], m[3], m[4]
	l.ecr.mu.Lock()
	defer l.ecr.mu.Unlock()
	repo := l.ecr.state.Repositories[repoName]
	if host != l.ecr.host || repo == nil {
		return "", "", "ImageAccessDenied", fmt.Sprintf("Lambda does not have permission to access the ECR image. Check the ECR permissions. Source image %s", uri)
	}
	im := repo.find(imageID{ImageTag: tag, ImageDigest: dig})
	if im == nil {
		return "", "", "ImageDeleted", fmt.Sprintf("Source image %s does not exist. Provide a valid source image.", uri)
	}
	resolved = host + "/" + repoName + "@" + im.Digest
	if isIndex(im.MediaType) {
		return resolved, im.Digest, "InvalidImage", fmt.Sprintf("The image manifest, config or layer media type for the source image %s is not supported.", uri)
	}
	if got := l.ecr.imageArch(repoName, im); got != "" && got != archOf(arch) {
		return resolved, im.Digest, "InvalidImage", fmt.Sprintf("The image architecture %s does not match the function's architecture %s. Source image %s", got, arch, uri)
	}
	return resolved, im.Digest, "", ""
}

// archOf maps a Lambda architecture to an OCI one.
func archOf(lambdaArch string) string {
	if lambdaArch == "arm64" {
		return "arm64"
	}
	return "amd64"
}

func (l *lambdaService) serve(w http.ResponseWriter, r *http.Request) {
	m := functionPath.FindStringSubmatch(r.URL.EscapedPath())
	if m == nil {
		writeREST(w, 0, nil, notFound("UnknownOperationException", "no Lambda operation at %s %s", r.Method, r.URL.Path))
		return
	}
	rawName, _ := url.PathUnescape(m[1])
	sub, item := m[2], m[3]
	op := lambdaOp(r.Method, rawName, sub, item)
	if op == "" {
		writeREST(w, 0, nil, notFound("UnknownOperationException", "no Lambda operation at %s %s", r.Method, r.URL.Path))
		return
	}
	body, err := readBody(r)
	if err != nil && asAWS(err).Status == http.StatusRequestEntityTooLarge {
		err = errorf(http.StatusRequestEntityTooLarge, "RequestTooLargeException", "Request must be smaller than %d bytes for the %s operation", maxBody, op)
	}
	l.ecr.faults.record("lambda", op, body)
	if l.ecr.faults.inject(w, "lambda", op, func(w http.ResponseWriter, v any, err error) { writeREST(w, 0, v, err) }) {
		return
	}
	if err != nil {
		writeREST(w, 0, nil, err)
		return
	}
	if op == "Invoke" {
		l.invoke(w, r, rawName, body)
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	status, out, err := l.dispatch(op, rawName, item, r.URL.Query(), body)
	writeREST(w, status, out, err)
}

// invoke runs the function version asked for in a container; the control
// plane's lock is held only while the version is looked up.
func (l *lambdaService) invoke(w http.ResponseWriter, r *http.Request, rawName string, payload []byte) {
	fn, invokedArn, err := l.invocable(rawName, r.URL.Query().Get("Qualifier"))
	if err != nil {
		writeREST(w, 0, nil, err)
		return
	}
	if len(payload) == 0 {
		payload = []byte("{}")
	}
	if !json.Valid(payload) {
		writeREST(w, 0, nil, badRequest("InvalidRequestContentException", "Could not parse request body into json: the payload is not valid JSON"))
		return
	}
	switch typ := r.Header.Get("X-Amz-Invocation-Type"); typ {
	case "", "RequestResponse":
	case "DryRun":
		w.Header().Set("X-Amz-Executed-Version", fn.Version)
		writeREST(w, http.StatusNoContent, nil, nil)
		return
	case "Event":
		go l.runtime.Invoke(fn, invokedArn, payload)
		w.Header().Set("X-Amz-Executed-Version", fn.Version)
		writeREST(w, http.StatusAccepted, nil, nil)
		return
	default:
		writeREST(w, 0, nil, badRequest("InvalidParameterValueException", "X-Amz-Invocation-Type must be RequestResponse, Event or DryRun, not %q", typ))
		return
	}
	out, tail, err := l.runtime.Invoke(fn, invokedArn, payload)
	if err != nil {
		writeREST(w, 0, nil, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Amzn-RequestId", out.requestID) // the invocation's, as in its START and REPORT lines
	h.Set("X-Amz-Executed-Version", fn.Version)
	if r.Header.Get("X-Amz-Log-Type") == "Tail" {
		h.Set("X-Amz-Log-Result", tail)
	}
	if out.errType != "" {
		h.Set("X-Amz-Function-Error", out.errType)
	}
	w.WriteHeader(http.StatusOK)
	w.Write(out.payload)
}

// invocable returns a copy of the configuration an invocation runs.
// The invoked ARN, the one the Runtime API hands the function, is the
// function's ARN with the qualifier it was invoked by (an alias included).
func (l *lambdaService) invocable(rawName, qualifier string) (fn funcConfig, invokedArn string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	name, q, err := resolveName(rawName)
	if err != nil {
		return funcConfig{}, "", err
	}
	if qualifier == "" {
		qualifier = q
	}
	f, err := l.function(name)
	if err != nil {
		return funcConfig{}, "", err
	}
	c, err := l.qualified(f, qualifier)
	if err != nil {
		return funcConfig{}, "", err
	}
	fn = *c
	invokedArn = f.Latest.FunctionArn
	if qualifier != "" {
		invokedArn += ":" + qualifier
	}
	err = l.runnable(f, &fn)
	return fn, invokedArn, err
}

// runnable refuses a version Lambda would not run, and picks the image an
// update in progress leaves serving.
func (l *lambdaService) runnable(f *function, fnp *funcConfig) error {
	fn := *fnp
	defer func() { *fnp = fn }()
	switch {
	case fn.State == "Pending":
		return errorf(http.StatusConflict, "ResourceConflictException", "The operation cannot be performed at this time. The function is currently in the following state: Pending")
	case fn.State == "Failed":
		return badRequest("InvalidParameterValueException", "The function is in the Failed state (%s): %s", fn.StateReasonCode, fn.StateReason)
	}
	if fn.Version == "$LATEST" && f.Pending != nil && f.Pending.Previous.Resolved != "" {
		fn.Image = f.Pending.Previous // an update in progress: the previous code still serves
	}
	if fn.Image.Resolved == "" {
		return badRequest("InvalidParameterValueException", "The function's image %s could not be resolved", fn.Image.URI)
	}
	return nil
}

// lambdaOp names the operation a REST call is.
func lambdaOp(method, name, sub, item string) string {
	switch {
	case name == "" && method == http.MethodPost:
		return "CreateFunction"
	case name == "" && method == http.MethodGet:
		return "ListFunctions"
	case name == "":
		return ""
	}
	ops := map[string]string{
		"GET ": "GetFunction", "DELETE ": "DeleteFunction",
		"GET configuration": "GetFunctionConfiguration", "PUT configuration": "UpdateFunctionConfiguration",
		"PUT code": "UpdateFunctionCode", "POST versions": "PublishVersion", "GET versions": "ListVersionsByFunction",
		"POST aliases": "CreateAlias", "GET aliases": "ListAliases", "POST invocations": "Invoke",
	}
	if item != "" && sub == "aliases" {
		return map[string]string{"GET": "GetAlias", "PUT": "UpdateAlias", "DELETE": "DeleteAlias"}[method]
	}
	return ops[method+" "+sub]
}

func (l *lambdaService) dispatch(op, rawName, item string, q url.Values, body []byte) (int, any, error) {
	if op == "CreateFunction" {
		return l.createFunction(body)
	}
	if op == "ListFunctions" {
		return l.listFunctions(q)
	}
	name, qualifier, err := resolveName(rawName)
	if err != nil {
		return 0, nil, err
	}
	if q.Get("Qualifier") != "" {
		qualifier = q.Get("Qualifier")
	}
	f, err := l.function(name)
	if err != nil {
		return 0, nil, err
	}
	switch op {
	case "GetFunction", "GetFunctionConfiguration":
		c, err := l.qualified(f, qualifier)
		if err != nil {
			return 0, nil, err
		}
		if op == "GetFunctionConfiguration" {
			return 200, c, nil
		}
		return 200, map[string]any{"Configuration": c, "Tags": f.Tags,
			"Code": map[string]string{"RepositoryType": "ECR", "ImageUri": c.Image.URI, "ResolvedImageUri": c.Image.Resolved}}, nil
	case "DeleteFunction":
		return l.deleteFunction(name, f, qualifier)
	case "UpdateFunctionCode":
		return l.updateCode(f, body)
	case "UpdateFunctionConfiguration":
		return l.updateConfiguration(f, body)
	case "PublishVersion":
		return l.publishVersion(f, body)
	case "ListVersionsByFunction":
		return l.listVersions(f, q)
	case "CreateAlias", "GetAlias", "UpdateAlias", "DeleteAlias", "ListAliases":
		return l.aliasOp(op, f, item, q, body)
	}
	return 0, nil, notFound("UnknownOperationException", "no Lambda operation %s", op)
}

// qualified returns $LATEST, a version or an alias's version.
func (l *lambdaService) qualified(f *function, qualifier string) (*funcConfig, error) {
	if qualifier == "" || qualifier == "$LATEST" {
		return &f.Latest, nil
	}
	if a, ok := f.Aliases[qualifier]; ok {
		qualifier = a.FunctionVersion
		if qualifier == "$LATEST" {
			return &f.Latest, nil
		}
	}
	for i := range f.Versions {
		if f.Versions[i].Version == qualifier {
			return &f.Versions[i], nil
		}
	}
	return nil, notFound("ResourceNotFoundException", "Function not found: %s:%s", f.Latest.FunctionArn, qualifier)
}

type functionInput struct {
	FunctionName  string                    `json:"FunctionName"`
	Role          string                    `json:"Role"`
	PackageType   string                    `json:"PackageType"`
	Code          struct{ ImageUri string } `json:"Code"`
	Architectures []string                  `json:"Architectures"`
	MemorySize    int                       `json:"MemorySize"`
	Timeout       int                       `json:"Timeout"`
	Description   string                    `json:"Description"`
	Environment   *environment              `json:"Environment"`
	Publish       bool                      `json:"Publish"`
	Tags          map[string]string         `json:"Tags"`
	// UpdateFunctionCode and PublishVersion
	ImageUri   string `json:"ImageUri"`
	RevisionId string `json:"RevisionId"`
	CodeSha256 string `json:"CodeSha256"`
	DryRun     bool   `json:"DryRun"`
}

func (l *lambdaService) createFunction(body []byte) (int, any, error) {
	var in functionInput
	if err := decodeJSON(body, &in); err != nil {
		return 0, nil, err
	}
	if !lambdaName.MatchString(in.FunctionName) {
		return 0, nil, badRequest("InvalidParameterValueException", "FunctionName %q must be 1 to 64 letters, digits, '-' or '_'", in.FunctionName)
	}
	if _, ok := l.state[in.FunctionName]; ok {
		return 0, nil, errorf(http.StatusConflict, "ResourceConflictException", "Function already exist: %s", in.FunctionName)
	}
	if in.PackageType != "Image" {
		return 0, nil, badRequest("InvalidParameterValueException", "localaws runs container images only: set PackageType to Image and Code.ImageUri")
	}
	if in.Code.ImageUri == "" {
		return 0, nil, badRequest("InvalidParameterValueException", "Code.ImageUri is required for PackageType Image")
	}
	if in.Role == "" {
		return 0, nil, badRequest("InvalidParameterValueException", "Role is required")
	}
	if err := l.ecr.faults.authorize("iam", "PassRole"); err != nil { // handing the role to Lambda
		return 0, nil, err
	}
	arch, err := architecture(in.Architectures)
	if err != nil {
		return 0, nil, err
	}
	if in.MemorySize == 0 {
		in.MemorySize = 128
	}
	if in.Timeout == 0 {
		in.Timeout = 3
	}
	if err := checkLimits(in.MemorySize, in.Timeout); err != nil {
		return 0, nil, err
	}
	resolved, digest, code, reason := l.resolveImage(in.Code.ImageUri, arch)
	if fc, fr := l.ecr.faults.failedUpdate("CreateFunction"); fc != "" && code == "" {
		code, reason = fc, fr
	}
	now := time.Now()
	f := &function{Aliases: map[string]*alias{}, Tags: in.Tags, NextVersion: 1,
		Pending: &pendingUpdate{Until: now.Add(l.delay), Create: true, ReasonCode: code, Reason: reason}}
	f.Latest = funcConfig{
		FunctionName: in.FunctionName, FunctionArn: l.arn(in.FunctionName), Role: in.Role, Description: in.Description,
		Timeout: in.Timeout, MemorySize: in.MemorySize, LastModified: lambdaTime(now), CodeSha256: strings.TrimPrefix(digest, "sha256:"),
		Version: "$LATEST", Environment: in.Environment, RevisionId: requestID(), State: "Pending", StateReasonCode: "Creating",
		StateReason: "The function is being created.", LastUpdateStatus: "InProgress", PackageType: "Image",
		Architectures: []string{arch}, EphemeralStorage: map[string]int{"Size": 512},
		LoggingConfig: map[string]string{"LogFormat": "Text", "LogGroup": "/aws/lambda/" + in.FunctionName},
		Image:         imageRef{URI: in.Code.ImageUri, Resolved: resolved},
	}
	l.state[in.FunctionName] = f
	if in.Publish {
		l.newVersion(f, "")
	}
	l.save()
	return http.StatusCreated, &f.Latest, nil
}

func architecture(archs []string) (string, error) {
	switch {
	case len(archs) == 0:
		return "x86_64", nil
	case len(archs) == 1 && (archs[0] == "x86_64" || archs[0] == "arm64"):
		return archs[0], nil
	}
	return "", badRequest("ValidationException", "1 validation error detected: Value '%v' at 'architectures' failed to satisfy constraint: Member must have length less than or equal to 1, and each member must be x86_64 or arm64", archs)
}

func checkLimits(memory, timeout int) error {
	if memory < 128 || memory > 10240 {
		return badRequest("ValidationException", "1 validation error detected: Value '%d' at 'memorySize' failed to satisfy constraint: Member must have value between 128 and 10240", memory)
	}
	if timeout < 1 || timeout > 900 {
		return badRequest("ValidationException", "1 validation error detected: Value '%d' at 'timeout' failed to satisfy constraint: Member must have value between 1 and 900", timeout)
	}
	return nil
}

func (l *lambdaService) listFunctions(q url.Values) (int, any, error) {
	names := make([]string, 0, len(l.state))
	for n := range l.state {
		names = append(names, n)
	}
	sort.Strings(names)
	out := []*funcConfig{}
	for _, n := range names {
		f, _ := l.function(n)
		out = append(out, &f.Latest)
	}
	return lambdaPage("Functions", out, q)
}

func (l *lambdaService) deleteFunction(name string, f *function, qualifier string) (int, any, error) {
	if qualifier == "" {
		delete(l.state, name)
		l.save()
		return http.StatusNoContent, nil, nil
	}
	if qualifier == "$LATEST" {
		return 0, nil, badRequest("InvalidParameterValueException", "$LATEST version cannot be deleted without deleting the function.")
	}
	for _, a := range f.Aliases {
		if a.FunctionVersion == qualifier {
			return 0, nil, errorf(http.StatusConflict, "ResourceConflictException", "Unable to delete version because the following aliases reference it: [%s]", a.Name)
		}
	}
	i := slices.IndexFunc(f.Versions, func(c funcConfig) bool { return c.Version == qualifier })
	if i < 0 {
		return 0, nil, notFound("ResourceNotFoundException", "Function not found: %s:%s", f.Latest.FunctionArn, qualifier)
	}
	f.Versions = slices.Delete(f.Versions, i, i+1)
	delete(f.Publishing, qualifier)
	l.save()
	return http.StatusNoContent, nil, nil
}

// mutable refuses a change while an update settles, or against a stale RevisionId.
func (l *lambdaService) mutable(f *function, revision string) error {
	if err := l.busy(f); err != nil {
		return err
	}
	if revision != "" && revision != f.Latest.RevisionId {
		return errorf(http.StatusPreconditionFailed, "PreconditionFailedException", "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id")
	}
	return nil
}

func (l *lambdaService) updateCode(f *function, body []byte) (int, any, error) {
	var in functionInput
	if err := decodeJSON(body, &in); err != nil {
		return 0, nil, err
	}
	if err := l.mutable(f, in.RevisionId); err != nil {
		return 0, nil, err
	}
	if in.ImageUri == "" {
		return 0, nil, badRequest("InvalidParameterValueException", "Please provide ImageUri when updating a function with packageType Image.")
	}
	arch := f.Latest.Architectures[0]
	if len(in.Architectures) > 0 {
		var err error
		if arch, err = architecture(in.Architectures); err != nil {
			return 0, nil, err
		}
	}
	resolved, digest, code, reason := l.resolveImage(in.ImageUri, arch)
	if fc, fr := l.ecr.faults.failedUpdate("UpdateFunctionCode"); fc != "" && code == "" && !in.DryRun {
		code, reason = fc, fr
	}
	if in.DryRun {
		return 200, &f.Latest, nil
	}
	c := &f.Latest
	previous := c.Image
	c.Image = imageRef{URI: in.ImageUri, Resolved: resolved}
	c.CodeSha256 = strings.TrimPrefix(digest, "sha256:")
	c.Architectures = []string{arch}
	l.startUpdate(f, code, reason)
	f.Pending.Previous = previous
	if in.Publish {
		l.newVersion(f, "")
	}
	l.save()
	return 200, c, nil
}

// startUpdate puts $LATEST InProgress until the delay passes.
func (l *lambdaService) startUpdate(f *function, code, reason string) {
	c := &f.Latest
	c.LastUpdateStatus, c.UpdateReasonCode, c.UpdateReason = "InProgress", "", ""
	c.LastModified = lambdaTime(time.Now())
	c.RevisionId = requestID()
	f.Pending = &pendingUpdate{Until: time.Now().Add(l.delay), ReasonCode: code, Reason: reason}
}

func (l *lambdaService) updateConfiguration(f *function, body []byte) (int, any, error) {
	var in struct {
		functionInput
		MemorySize *int `json:"MemorySize"`
		Timeout    *int `json:"Timeout"`
	}
	if err := decodeJSON(body, &in); err != nil {
		return 0, nil, err
	}
	if err := l.mutable(f, in.RevisionId); err != nil {
		return 0, nil, err
	}
	c := &f.Latest
	memory, timeout := c.MemorySize, c.Timeout
	if in.MemorySize != nil {
		memory = *in.MemorySize
	}
	if in.Timeout != nil {
		timeout = *in.Timeout
	}
	if err := checkLimits(memory, timeout); err != nil {
		return 0, nil, err
	}
	c.MemorySize, c.Timeout = memory, timeout
	if in.Environment != nil {
		c.Environment = in.Environment
	}
	if in.Role != "" {
		c.Role = in.Role
	}
	if in.Description != "" {
		c.Description = in.Description
	}
	fc, fr := l.ecr.faults.failedUpdate("UpdateFunctionConfiguration")
	l.startUpdate(f, fc, fr)
	f.Pending.Previous = c.Image
	l.save()
	return 200, c, nil
}

// newVersion publishes $LATEST as the next version, Pending until $LATEST
// settles and the publish delay has passed.
func (l *lambdaService) newVersion(f *function, description string) *funcConfig {
	v := f.Latest
	v.Version = strconv.Itoa(f.NextVersion)
	v.FunctionArn = f.Latest.FunctionArn + ":" + v.Version
	v.RevisionId = requestID()
	v.Description = description
	v.State, v.StateReasonCode, v.StateReason = "Active", "", ""
	if f.Pending != nil || l.publish > 0 {
		v.State, v.StateReasonCode, v.StateReason = "Pending", "Creating", "The function is being created."
		if f.Publishing == nil {
			f.Publishing = map[string]*publication{}
		}
		f.Publishing[v.Version] = &publication{Until: time.Now().Add(l.publish), WithUpdate: f.Pending != nil}
	}
	f.NextVersion++
	f.Versions = append(f.Versions, v)
	return &f.Versions[len(f.Versions)-1]
}

func (l *lambdaService) publishVersion(f *function, body []byte) (int, any, error) {
	var in functionInput
	if err := decodeJSON(body, &in); err != nil {
		return 0, nil, err
	}
	if err := l.mutable(f, in.RevisionId); err != nil {
		return 0, nil, err
	}
	if in.CodeSha256 != "" && in.CodeSha256 != f.Latest.CodeSha256 {
		return 0, nil, badRequest("InvalidParameterValueException", "CodeSHA256 (%s) is different from current CodeSHA256 in $LATEST (%s). Please try again with the CodeSHA256 in $LATEST.", in.CodeSha256, f.Latest.CodeSha256)
	}
	if f.Latest.LastUpdateStatus == "Failed" {
		return 0, nil, badRequest("InvalidParameterValueException", "The function's last update failed (%s); fix it before publishing a version", f.Latest.UpdateReasonCode)
	}
	if n := len(f.Versions); n > 0 {
		last := &f.Versions[n-1]
		if last.CodeSha256 == f.Latest.CodeSha256 && sameConfig(last, &f.Latest) {
			return http.StatusCreated, last, nil // nothing changed: Lambda returns the latest version
		}
	}
	v := l.newVersion(f, in.Description)
	l.save()
	return http.StatusCreated, v, nil
}

func sameConfig(a, b *funcConfig) bool {
	ea, _ := json.Marshal(a.Environment)
	eb, _ := json.Marshal(b.Environment)
	return a.MemorySize == b.MemorySize && a.Timeout == b.Timeout && a.Role == b.Role && string(ea) == string(eb) && slices.Equal(a.Architectures, b.Architectures)
}

func (l *lambdaService) listVersions(f *function, q url.Values) (int, any, error) {
	return lambdaPage("Versions", append([]funcConfig{f.Latest}, f.Versions...), q)
}

// lambdaPage answers a Lambda list call with the page its Marker (an
// offset) and MaxItems (default 50) ask for, and the NextMarker of the next.
func lambdaPage[T any](key string, items []T, q url.Values) (int, any, error) {
	start := 0
	if m := q.Get("Marker"); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil || n < 0 || n > len(items) {
			return 0, nil, badRequest("InvalidParameterValueException", "Marker %q is not one a previous page returned", m)
		}
		start = n
	}
	size := 50
	if m := q.Get("MaxItems"); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil || n < 1 || n > 10000 {
			return 0, nil, badRequest("InvalidParameterValueException", "MaxItems must be between 1 and 10000, not %q", m)
		}
		size = n
	}
	end := min(start+size, len(items))
	out := map[string]any{key: items[start:end]}
	if end < len(items) {
		out["NextMarker"] = strconv.Itoa(end)
	}
	return 200, out, nil
}

func (l *lambdaService) aliasOp(op string, f *function, name string, q url.Values, body []byte) (int, any, error) {
	var in struct {
		Name            string         `json:"Name"`
		FunctionVersion string         `json:"FunctionVersion"`
		Description     *string        `json:"Description"`
		RevisionId      string         `json:"RevisionId"`
		RoutingConfig   *routingConfig `json:"RoutingConfig"`
	}
	if err := decodeJSON(body, &in); err != nil {
		return 0, nil, err
	}
	if op == "ListAliases" {
		names := make([]string, 0, len(f.Aliases))
		for n := range f.Aliases {
			names = append(names, n)
		}
		sort.Strings(names)
		out := []*alias{}
		for _, n := range names {
			out = append(out, f.Aliases[n])
		}
		return lambdaPage("Aliases", out, q)
	}
	if op == "CreateAlias" {
		name = in.Name
	}
	if !aliasNameRe.MatchString(name) || len(name) > 128 {
		return 0, nil, badRequest("ValidationException", "1 validation error detected: Value '%s' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)", name)
	}
	a := f.Aliases[name]
	if op != "CreateAlias" && a == nil {
		return 0, nil, notFound("ResourceNotFoundException", "Alias not found: %s:%s", f.Latest.FunctionArn, name)
	}
	checkVersion := func(v string) error {
		if v == "$LATEST" || slices.ContainsFunc(f.Versions, func(c funcConfig) bool { return c.Version == v }) {
			return nil
		}
		return notFound("ResourceNotFoundException", "Function not found: %s:%s", f.Latest.FunctionArn, v)
	}
	switch op {
	case "CreateAlias":
		if a != nil {
			return 0, nil, errorf(http.StatusConflict, "ResourceConflictException", "Alias already exists: %s:%s", f.Latest.FunctionArn, name)
		}
		if err := checkVersion(in.FunctionVersion); err != nil {
			return 0, nil, err
		}
		a = &alias{AliasArn: f.Latest.FunctionArn + ":" + name, Name: name, FunctionVersion: in.FunctionVersion, RevisionId: requestID(), RoutingConfig: in.RoutingConfig}
		if in.Description != nil {
			a.Description = *in.Description
		}
		f.Aliases[name] = a
		l.save()
		return http.StatusCreated, a, nil
	case "UpdateAlias":
		if in.RevisionId != "" && in.RevisionId != a.RevisionId {
			return 0, nil, errorf(http.StatusPreconditionFailed, "PreconditionFailedException", "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id")
		}
		if in.FunctionVersion != "" {
			if err := checkVersion(in.FunctionVersion); err != nil {
				return 0, nil, err
			}
			a.FunctionVersion = in.FunctionVersion
		}
		if in.Description != nil {
			a.Description = *in.Description
		}
		if in.RoutingConfig != nil {
			a.RoutingConfig = in.RoutingConfig
		}
		a.RevisionId = requestID()
		l.save()
		return 200, a, nil
	case "DeleteAlias":
		delete(f.Aliases, name)
		l.save()
		return http.StatusNoContent, nil, nil
	}
	return 200, a, nil
}
