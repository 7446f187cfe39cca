package localaws

import (
	"bytes"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lambdacontainer/pulumi-lambdacontainer/internal/testenv"
)

// FuzzAPIRequests sends arbitrary requests to every protocol's decoder (JSON
// 1.1 by X-Amz-Target, Lambda's REST paths, the query protocol): each must
// get an AWS-shaped answer, never a panic. Invocations (which run
// containers) and the admin API are left out.
func FuzzAPIRequests(f *testing.F) {
	for _, seed := range []struct{ method, path, target, contentType, body string }{
		{"POST", "/", "AmazonEC2ContainerRegistry_V20150921.CreateRepository", "application/x-amz-json-1.1", `{"repositoryName": "api"}`},
		{"POST", "/", "AmazonEC2ContainerRegistry_V20150921.DescribeImages", "application/x-amz-json-1.1", `{"repositoryName": "api", "imageIds": [{"imageTag": 1}]}`},
		{"POST", "/", "AmazonEC2ContainerRegistry_V20150921.BatchDeleteImage", "application/x-amz-json-1.1", `{"repositoryName": "api", "imageIds": [{}]}`},
		{"POST", "/", "Logs_20140328.FilterLogEvents", "application/x-amz-json-1.1", `{"logGroupName": "/aws/lambda/x", "filterPattern": "\"ERROR"}`},
		{"POST", "/", "Logs_20140328.PutLogEvents", "application/x-amz-json-1.1", `{"logGroupName": "g", "logStreamName": "s", "logEvents": [{"timestamp": -1}]}`},
		{"POST", "/2015-03-31/functions", "", "application/json", `{"FunctionName": "api", "PackageType": "Image", "Code": {"ImageUri": "x/y:z"}, "Role": "r", "Architectures": ["a", "b"]}`},
		{"PUT", "/2015-03-31/functions/api/code", "", "application/json", `{"ImageUri": "127.0.0.1:1/api@sha256:zz"}`},
		{"GET", "/2015-03-31/functions/api/versions?Marker=-1&MaxItems=x", "", "", ""},
		{"POST", "/2015-03-31/functions/api%2F..%2Fx/aliases", "", "application/json", `{"Name": "42", "FunctionVersion": "$LATEST"}`},
		{"POST", "/", "", "application/x-www-form-urlencoded", "Action=DescribeStacks&StackName=%zz"},
		{"POST", "/", "", "application/x-www-form-urlencoded", "Action=GetCallerIdentity&Version=2011-06-15"},
	} {
		f.Add(seed.method, seed.path, seed.target, seed.contentType, []byte(seed.body))
	}
	logs := &testenv.Buffer{} // the server writes it while the fuzzer reads it
	s, err := Start(Options{Log: log.New(logs, "", 0)})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	f.Fuzz(func(t *testing.T, method, path, target, contentType string, body []byte) {
		if !strings.HasPrefix(path, "/") || strings.Contains(path, "invocations") || strings.HasPrefix(path, "/_localaws") {
			return
		}
		req, err := http.NewRequest(method, "http://localaws"+path, bytes.NewReader(body))
		if err != nil {
			return
		}
		req.Header.Set("X-Amz-Target", target)
		req.Header.Set("Content-Type", contentType)
		w := httptest.NewRecorder()
		s.serveAPI(w, req)
		if strings.Contains(logs.String(), "panic") {
			t.Fatalf("%s %s %s %q panicked:\n%s", method, path, target, body, logs.String())
		}
		if w.Code == 0 || w.Code >= 500 && w.Code != http.StatusServiceUnavailable || w.Body.Len() == 0 && w.Code != http.StatusNoContent && method != http.MethodHead {
			t.Fatalf("%s %s %s %q: status %d, body %q", method, path, target, body, w.Code, w.Body.String())
		}
	})
}
