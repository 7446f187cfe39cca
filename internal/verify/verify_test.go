package verify

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/lambdacontainer/pulumi-lambdacontainer/localaws"
)

func TestHTTPEventIsAnAPIGatewayV2Event(t *testing.T) {
	raw := HTTPEvent(Request{Method: "POST", Path: "/orders?limit=2&x=a", Headers: map[string]string{"X-Trace": "1", "Cookie": "a=1; b=2"}, Body: `{"item": "tea"}`},
		"api", time.Unix(1700000000, 0))
	var e struct {
		Version, RouteKey, RawPath, RawQueryString, Body string
		Headers                                          map[string]string
		QueryStringParameters                            map[string]string
		Cookies                                          []string
		IsBase64Encoded                                  bool
		RequestContext                                   struct {
			HTTP      struct{ Method, Path, Protocol string }
			TimeEpoch int64
		}
	}
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatal(err)
	}
	if e.Version != "2.0" || e.RouteKey != "$default" || e.RawPath != "/orders" || e.RawQueryString != "limit=2&x=a" || e.Body != `{"item": "tea"}` ||
		e.RequestContext.HTTP.Method != "POST" || e.RequestContext.HTTP.Path != "/orders" || e.Headers["x-trace"] != "1" ||
		e.Headers["content-type"] != "application/json" || e.QueryStringParameters["limit"] != "2" || len(e.Cookies) != 2 ||
		e.RequestContext.TimeEpoch != 1700000000000 || e.IsBase64Encoded {
		t.Fatalf("event: %s", raw)
	}
}

func TestParseReport(t *testing.T) {
	log := "START RequestId: a Version: 3\nhello\nEND RequestId: a\n" +
		"REPORT RequestId: a\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 256 MB\tMax Memory Used: 71 MB\tInit Duration: 845.20 ms\n" +
		"REPORT RequestId: b\tDuration: 2.00 ms\tBilled Duration: 2 ms\tMemory Size: 256 MB\tMax Memory Used: 72 MB"
	r := ParseReport(log, "a")
	if !r.Found || r.DurationMs != 12.34 || r.BilledMs != 13 || r.MemorySizeMB != 256 || r.MaxMemoryUsedMB != 71 || !r.Cold || r.InitDurationMs != 845.2 {
		t.Fatalf("cold report: %+v", r)
	}
	if r := ParseReport(log, "b"); !r.Found || r.Cold || r.MaxMemoryUsedMB != 72 {
		t.Fatalf("warm report: %+v", r)
	}
	if r := ParseReport("no report here", ""); r.Found {
		t.Fatalf("found a report in %+v", r)
	}
}

func TestErrorLines(t *testing.T) {
	for line, want := range map[string]bool{
		"[ERROR] Runtime.ImportModuleError: Unable to import module 'app'": true,
		"Traceback (most recent call last):":                               true,
		"2026-12-04T10:00:03.000Z 1 Task timed out after 3.00 seconds":     true,
		"ValueError: boom":                                        true,
		"ERROR:root:boom":                                         true,
		"ERROR:    Exception in ASGI application":                 true,
		"[ERROR]\t2026-12-04T10:00:03.000Z\ta\tthe cache is down": true,
		"INFO: handled GET /health 200":                           false,
		"INFO: ERRORS=0, user_ERROR_count=0":                      false,
		"REPORT RequestId: a\tDuration: 1 ms":                     false,
		"START RequestId: ERROR Version: 3":                       false,
		"END RequestId: ERROR":                                    false,
	} {
		if IsErrorLine(line) != want {
			t.Errorf("IsErrorLine(%q) = %v", line, !want)
		}
	}
}

func TestJudge(t *testing.T) {
	for _, c := range []struct {
		payload, fnErr string
		check          Check
		fail           string
	}{
		{`{"statusCode": 200, "body": "{\"status\": \"ok\"}"}`, "", Check{ExpectStatus: 200, ExpectBodyContains: "ok"}, ""},
		{`{"statusCode": 204, "body": ""}`, "", Check{}, ""},
		{`{"statusCode": 500, "body": "Internal Server Error"}`, "", Check{}, "status is 500, not 2xx"},
		{`{"statusCode": 200, "body": "b2s="}`, "", Check{ExpectBodyContains: "nope"}, "does not contain"},
		{`{"statusCode": 200, "body": "b2s=", "isBase64Encoded": true}`, "", Check{ExpectBodyContains: "ok"}, ""},
		{`{"ok": true}`, "", Check{}, "not an HTTP response"},
		{`{"errorType": "Runtime.ImportModuleError", "errorMessage": "Unable to import module 'app': No module named 'yaml'"}`, "Unhandled", Check{},
			"failed (Runtime.ImportModuleError): Unable to import module"},
	} {
		r := Result{FunctionError: c.fnErr, ResponseString: c.payload}
		r.judge([]byte(c.payload), true, c.check)
		if (c.fail == "") != r.Passed() || !strings.Contains(r.Failure, c.fail) {
			t.Errorf("%s: failure %q, want %q", c.payload, r.Failure, c.fail)
		}
	}
}

func TestGetURL(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			w.Write([]byte("ok"))
			return
		}
		http.Error(w, "nope", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	ctx := context.Background()
	for url, want := range map[string]string{
		srv.URL + "/health":  "",
		srv.URL + "/down":    "answered 503, not 2xx: nope",
		"http://127.0.0.1:1": "failed",
	} {
		if got := getURL(ctx, url, 0); (want == "") != (got == "") || !strings.Contains(got, want) {
			t.Errorf("getURL(%s) = %q, want %q", url, got, want)
		}
	}
	if got := getURL(ctx, srv.URL+"/health", 201); !strings.Contains(got, "answered 200, not 201") {
		t.Errorf("an expected status: %q", got)
	}
}

// The log scan reads the version's stream from CloudWatch Logs (localaws's),
// finds the REPORT line and the error lines, ignores other versions'
// streams, and waits for lines that reach the logs late (CloudWatch Logs
// ingests them in batches) until the REPORT line is in.
func TestScanLogsWaitsForTheReport(t *testing.T) {
	s, err := localaws.Start(localaws.Options{Log: log.New(io.Discard, "", 0)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	logs := cloudwatchlogs.NewFromConfig(aws.Config{Region: s.Region(), BaseEndpoint: aws.String(s.Endpoint()),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")})
	group := "/aws/lambda/api"
	if _, err := logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: &group}); err != nil {
		t.Fatal(err)
	}
	put := func(stream string, lines ...string) {
		t.Helper()
		logs.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: &group, LogStreamName: &stream})
		var events []cwtypes.InputLogEvent
		for _, l := range lines {
			events = append(events, cwtypes.InputLogEvent{Message: aws.String(l), Timestamp: aws.Int64(time.Now().UnixMilli())})
		}
		if _, err := logs.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: &group, LogStreamName: &stream, LogEvents: events}); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	put("2026/12/04/[2]old", "START RequestId: x Version: 2", "[ERROR] an older version's error", "REPORT RequestId: x\tDuration: 1.00 ms")
	put("2026/12/04/[3]new", "START RequestId: r1 Version: 3", "ERROR:root:boom")
	go func() { // the rest of the invocation's lines, in a later batch
		time.Sleep(300 * time.Millisecond)
		put("2026/12/04/[3]new", "ERROR:    Exception in ASGI application", "END RequestId: r1",
			"REPORT RequestId: r1\tDuration: 2.50 ms\tBilled Duration: 3 ms\tMemory Size: 128 MB\tMax Memory Used: 40 MB")
	}()
	errs, report, err := scanLogs(ctx, logs, group, "3", "r1", start, time.Minute)
	if err != nil || !report.Found || report.DurationMs != 2.5 || report.MaxMemoryUsedMB != 40 {
		t.Fatalf("the scan: %v, report %+v", err, report)
	}
	if strings.Join(errs, "|") != "ERROR:root:boom|ERROR:    Exception in ASGI application" {
		t.Fatalf("the error lines: %q", errs)
	}

	// Without a REPORT line, the window ends the scan.
	errs, report, err = scanLogs(ctx, logs, group, "4", "r2", start, time.Second)
	if err != nil || report.Found || len(errs) > 0 {
		t.Fatalf("a version with no logs: %v %+v %q", err, report, errs)
	}
}
