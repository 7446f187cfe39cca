// Package verify proves that a published Lambda version works before traffic
// moves to it: it invokes that version (an HTTP request becomes the API
// Gateway HTTP API v2 event mangum expects), checks the status and body,
// optionally GETs a URL, reads the invocation's REPORT line, and scans the
// version's logs for errors.
package verify

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// Invoker is the part of the Lambda client verification calls.
type Invoker interface {
	Invoke(context.Context, *lambda.InvokeInput, ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// LogReader is the part of the CloudWatch Logs client verification calls.
type LogReader interface {
	cloudwatchlogs.FilterLogEventsAPIClient
}

// Request is an HTTP request sent to the function as an event.
type Request struct {
	Method, Path string
	Headers      map[string]string
	Body         string
}

// Check is what a version must do to pass.
type Check struct {
	HTTP  *Request // sent as an API Gateway HTTP API v2 event
	Event []byte   // or a raw event; neither: GET /
	// ExpectStatus is the status the response must have; 0 accepts any 2xx.
	ExpectStatus       int
	ExpectBodyContains string
	URL                string        // GET after the invocation passed; "" for none
	Timeout            time.Duration // for the whole verification
	// LogWindow bounds how long the logs are watched for the invocation's
	// lines, up to its REPORT line; 0 skips the log scan. Lambda freezes the
	// environment once the function has answered, so nothing the version
	// logs comes after that line until the next invocation.
	LogWindow       time.Duration
	FailOnLogErrors bool
}

// Result is what the verification observed.
type Result struct {
	Version        string
	RequestID      string
	Status         int    // statusCode of an HTTP response, else 200
	Body           string // the response body (HTTP) or payload
	FunctionError  string // X-Amz-Function-Error: Unhandled, Handled
	ErrorType      string // the error payload's errorType
	ErrorMessage   string
	Report         Report
	LogExcerpt     string   // the invocation's log tail
	LogErrors      []string // error lines found in the version's logs
	Failure        string   // why it failed; "" when it passed
	ResponseString string   // the raw payload, trimmed, for messages
}

// Passed says whether the version passed.
func (r Result) Passed() bool { return r.Failure == "" }

// Report is the invocation's REPORT line.
type Report struct {
	DurationMs, BilledMs, InitDurationMs float64
	MemorySizeMB, MaxMemoryUsedMB        int
	Cold                                 bool // it carried Init Duration
	Found                                bool
}

// HTTPEvent builds the API Gateway HTTP API (payload format 2.0) event for
// an HTTP request, as API Gateway and function URLs send it and mangum reads it.
func HTTPEvent(r Request, functionName string, now time.Time) []byte {
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	path, rawQuery, _ := strings.Cut(r.Path, "?")
	headers := map[string]string{"host": "lambdacontainer.verify", "user-agent": "lambdacontainer-verify", "x-forwarded-proto": "https"}
	for k, v := range r.Headers {
		headers[strings.ToLower(k)] = v
	}
	if r.Body != "" {
		if _, ok := headers["content-type"]; !ok {
			headers["content-type"] = "application/json"
		}
	}
	event := map[string]any{
		"version":        "2.0",
		"routeKey":       "$default",
		"rawPath":        path,
		"rawQueryString": rawQuery,
		"headers":        headers,
		"requestContext": map[string]any{
			"accountId": "anonymous", "apiId": "lambdacontainer-verify", "domainName": headers["host"], "domainPrefix": "lambdacontainer",
			"http":      map[string]any{"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": headers["user-agent"]},
			"requestId": "verify-" + strconv.FormatInt(now.UnixNano(), 36), "routeKey": "$default", "stage": "$default",
			"time": now.UTC().Format("02/Jan/2006:15:04:05 -0700"), "timeEpoch": now.UnixMilli(),
		},
		"body":            r.Body,
		"isBase64Encoded": false,
	}
	if q, err := url.ParseQuery(rawQuery); err == nil && len(q) > 0 {
		params := map[string]string{}
		for k, v := range q {
			params[k] = strings.Join(v, ",")
		}
		event["queryStringParameters"] = params
	}
	if cookie := headers["cookie"]; cookie != "" {
		event["cookies"] = strings.Split(cookie, "; ")
	}
	b, _ := json.Marshal(event)
	return b
}

// Run invokes the version and checks it. It returns an error only when the
// check could not be carried out (the API failed); a version that fails the
// check returns a Result whose Failure says why.
func Run(ctx context.Context, inv Invoker, logs LogReader, function, version, logGroup string, c Check) (Result, error) {
	if c.Timeout <= 0 {
		c.Timeout = time.Minute
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	payload := c.Event
	isHTTP := len(payload) == 0
	if isHTTP {
		req := Request{Method: http.MethodGet, Path: "/"}
		if c.HTTP != nil {
			req = *c.HTTP
		}
		payload = HTTPEvent(req, function, time.Now())
	}
	started := time.Now()
	out, err := inv.Invoke(ctx, &lambda.InvokeInput{FunctionName: &function, Qualifier: &version, Payload: payload, LogType: types.LogTypeTail})
	if err != nil {
		if ctx.Err() != nil && parent.Err() == nil {
			return Result{Version: version, Failure: fmt.Sprintf("the invocation did not answer within %s (verify.timeoutSeconds)", c.Timeout)}, nil
		}
		return Result{}, fmt.Errorf("invoking version %s of %s: %w", version, function, err)
	}
	r := Result{Version: version, Status: 200, FunctionError: aws.ToString(out.FunctionError)}
	if id, ok := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata); ok {
		r.RequestID = id
	}
	if tail, err := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult)); err == nil {
		r.LogExcerpt = strings.TrimRight(string(tail), "\n")
		r.Report = ParseReport(r.LogExcerpt, r.RequestID)
	}
	r.ResponseString = clip(string(out.Payload), 2000)
	r.judge(out.Payload, isHTTP, c)
	if r.Passed() && c.URL != "" {
		r.Failure = getURL(ctx, c.URL, c.ExpectStatus)
	}
	if c.LogWindow > 0 && logs != nil {
		lines, report, err := scanLogs(ctx, logs, logGroup, version, r.RequestID, started, c.LogWindow)
		if err != nil && ctx.Err() == nil {
			return Result{}, err
		}
		r.LogErrors = lines
		if !r.Report.Found && report.Found {
			r.Report = report
		}
		if r.Passed() && c.FailOnLogErrors && len(lines) > 0 {
			r.Failure = fmt.Sprintf("the response passed, but the function logged errors: %s", lines[0])
		}
	}
	return r, nil
}

// judge checks the payload against the expectations.
func (r *Result) judge(payload []byte, isHTTP bool, c Check) {
	if r.FunctionError != "" {
		var e struct {
			ErrorType    string `json:"errorType"`
			ErrorMessage string `json:"errorMessage"`
		}
		json.Unmarshal(payload, &e)
		r.ErrorType, r.ErrorMessage = e.ErrorType, e.ErrorMessage
		r.Status = 0
		r.Failure = fmt.Sprintf("the function failed (%s): %s", firstNonEmpty(e.ErrorType, r.FunctionError), firstNonEmpty(e.ErrorMessage, r.ResponseString))
		return
	}
	r.Body = string(payload)
	var resp struct {
		StatusCode      *int   `json:"statusCode"`
		Body            string `json:"body"`
		IsBase64Encoded bool   `json:"isBase64Encoded"`
	}
	if isHTTP {
		if err := json.Unmarshal(payload, &resp); err != nil || resp.StatusCode == nil {
			r.Failure = "the response is not an HTTP response (no statusCode): " + r.ResponseString
			return
		}
		r.Status, r.Body = *resp.StatusCode, resp.Body
		if resp.IsBase64Encoded {
			if b, err := base64.StdEncoding.DecodeString(resp.Body); err == nil {
				r.Body = string(b)
			}
		}
	}
	switch {
	case c.ExpectStatus != 0 && r.Status != c.ExpectStatus:
		r.Failure = fmt.Sprintf("the response status is %d, not the expected %d; body: %s", r.Status, c.ExpectStatus, clip(r.Body, 500))
	case c.ExpectStatus == 0 && (r.Status < 200 || r.Status > 299):
		r.Failure = fmt.Sprintf("the response status is %d, not 2xx; body: %s", r.Status, clip(r.Body, 500))
	case c.ExpectBodyContains != "" && !strings.Contains(r.Body, c.ExpectBodyContains):
		r.Failure = fmt.Sprintf("the response body does not contain %q; body: %s", c.ExpectBodyContains, clip(r.Body, 500))
	}
}

func getURL(ctx context.Context, u string, expect int) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Sprintf("verify.url %s: %v", u, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Sprintf("GET %s failed: %v", u, err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if (expect != 0 && resp.StatusCode != expect) || (expect == 0 && (resp.StatusCode < 200 || resp.StatusCode > 299)) {
		want := "2xx"
		if expect != 0 {
			want = strconv.Itoa(expect)
		}
		return fmt.Sprintf("GET %s answered %d, not %s: %s", u, resp.StatusCode, want, clip(string(body), 300))
	}
	return ""
}

var reportField = regexp.MustCompile(`(Duration|Billed Duration|Memory Size|Max Memory Used|Init Duration): ([0-9.]+) (ms|MB)`)

// ParseReport finds the REPORT line of requestID ("" for any) in a log.
func ParseReport(log, requestID string) Report {
	var rep Report
	for _, line := range strings.Split(log, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "REPORT RequestId: ")
		if id, _, _ := strings.Cut(rest, "\t"); !ok || (requestID != "" && strings.TrimSpace(id) != requestID) {
			continue
		}
		rep = Report{Found: true}
		for _, m := range reportField.FindAllStringSubmatch(line, -1) {
			v, _ := strconv.ParseFloat(m[2], 64)
			switch m[1] {
			case "Duration":
				rep.DurationMs = v
			case "Billed Duration":
				rep.BilledMs = v
			case "Memory Size":
				rep.MemorySizeMB = int(v)
			case "Max Memory Used":
				rep.MaxMemoryUsedMB = int(v)
			case "Init Duration":
				rep.InitDurationMs, rep.Cold = v, true
			}
		}
	}
	return rep
}

// errorLine matches what Lambda, its Python runtime, Python's logging
// (ERROR:root:...) and servers such as uvicorn (ERROR:    Exception in ASGI
// application) log on failure.
var errorLine = regexp.MustCompile(`\bERROR\b|Traceback \(most recent call last\)|Task timed out after|Runtime\.[A-Za-z]+|Runtime exited with error|^\S+Error: `)

// IsErrorLine says whether a log line reports an error. Lambda's own
// START, END and REPORT lines never do.
func IsErrorLine(line string) bool {
	for _, own := range []string{"START RequestId:", "END RequestId:", "REPORT RequestId:"} {
		if strings.HasPrefix(strings.TrimSpace(line), own) {
			return false
		}
	}
	return errorLine.MatchString(line)
}

// scanLogs reads the version's log events since start, until the
// invocation's REPORT line has arrived (CloudWatch Logs takes a while to
// ingest them) or the window is over, and returns the error lines.
func scanLogs(ctx context.Context, api LogReader, group, version, requestID string, start time.Time, window time.Duration) ([]string, Report, error) {
	deadline := time.Now().Add(window)
	var errs []string
	var report Report
	seen := map[string]bool{}
	for {
		var token *string
		for {
			out, err := api.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: &group,
				StartTime: aws.Int64(start.Add(-time.Second).UnixMilli()), NextToken: token})
			if errors.As(err, new(*cwtypes.ResourceNotFoundException)) {
				break // no log group yet
			}
			if err != nil {
				return errs, report, fmt.Errorf("reading the logs of %s: %w", group, err)
			}
			for _, e := range out.Events {
				if !strings.Contains(aws.ToString(e.LogStreamName), "["+version+"]") || seen[aws.ToString(e.EventId)] {
					continue
				}
				seen[aws.ToString(e.EventId)] = true
				for _, line := range strings.Split(strings.TrimRight(aws.ToString(e.Message), "\n"), "\n") {
					if IsErrorLine(line) && len(errs) < 20 {
						errs = append(errs, clip(strings.TrimSpace(line), 300))
					}
					if r := ParseReport(line, requestID); r.Found {
						report = r
					}
				}
			}
			if token = out.NextToken; token == nil {
				break
			}
		}
		if report.Found || !time.Now().Before(deadline) { // the invocation's lines are all in once its REPORT is
			return errs, report, nil
		}
		select {
		case <-ctx.Done():
			return errs, report, ctx.Err()
		case <-time.After(min(500*time.Millisecond, time.Until(deadline))):
		}
	}
}

func clip(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
