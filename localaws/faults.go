package localaws

import (
	"bytes"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// serviceNames maps X-Amz-Target prefixes to the names fault rules use.
var serviceNames = map[string]string{ecrTarget: "ecr", logsTarget: "logs"}

// Fault is one rule of the fault injection admin API: calls to Service's
// Operation ("*" for all) wait Latency, then fail with ErrorType and Status
// (with no ErrorType, they only wait), Count times (0: every time) or with
// Probability. The first Skip calls it covers pass untouched (counted as
// Skipped, not Fired), so a test can fail, say, the second
// UpdateFunctionCode. With FailUpdate, a Lambda update (UpdateFunctionCode,
// UpdateFunctionConfiguration, CreateFunction) is accepted but settles as
// Failed with that LastUpdateStatusReasonCode and Message as the reason, as
// when Lambda cannot pull an image after all. Fired counts the calls the
// rule applied to; GET /_localaws/faults lists the rules with it, spent ones
// included, so a test can prove its fault happened.
type Fault struct {
	Service     string  `json:"service"`   // ecr, registry, lambda, logs, sts, cloudformation
	Operation   string  `json:"operation"` // e.g. UpdateFunctionCode; for the registry, PUT-manifest, PUT-blob, GET-manifest, GET-blob
	ErrorType   string  `json:"errorType,omitempty"`
	Status      int     `json:"status,omitempty"`
	Message     string  `json:"message,omitempty"`
	Count       int     `json:"count,omitempty"`
	Skip        int     `json:"skip,omitempty"`
	Probability float64 `json:"probability,omitempty"`
	LatencyMs   int     `json:"latencyMs,omitempty"`
	FailUpdate  string  `json:"failUpdate,omitempty"`
	Fired       int     `json:"fired"`
	Skipped     int     `json:"skipped"`
}

// spent says a counted rule has fired its count.
func (r *Fault) spent() bool { return r.Count > 0 && r.Fired >= r.Count }

// applies says whether the rule covers a call of service's op.
func (r *Fault) applies(service, op string) bool {
	return !r.spent() && strings.EqualFold(r.Service, service) && (r.Operation == "*" || r.Operation == op)
}

type faults struct {
	mu       sync.Mutex
	account  string
	allowed  map[string]bool // the IAM actions callers may use; nil: all
	rules    []*Fault
	calls    map[string]int      // "service:Operation" -> calls, for the admin API
	requests map[string][][]byte // "service:Operation" -> the last request bodies
	bytes    int64               // blob bytes the registry received
}

// The request journal keeps the last maxRequests bodies of each operation,
// each cut at maxRequestBody bytes.
const (
	maxRequests    = 100
	maxRequestBody = 64 << 10
)

func newFaults(account string, allow []string) *faults {
	f := &faults{account: account, calls: map[string]int{}, requests: map[string][][]byte{}}
	if allow != nil {
		f.allowed = map[string]bool{}
		for _, a := range allow {
			f.allowed[a] = true
		}
	}
	return f
}

// Calls counts what every call has cost so far: the calls by
// "service:Operation" (registry operations as in Fault), and the blob bytes
// uploaded to the registry. Tests assert idempotency and upload sizes on it.
type Calls struct {
	Calls             map[string]int `json:"calls"`
	RegistryBlobBytes int64          `json:"registryBlobBytes"`
}

func (f *faults) snapshot() Calls {
	f.mu.Lock()
	defer f.mu.Unlock()
	return Calls{Calls: maps.Clone(f.calls), RegistryBlobBytes: f.bytes}
}

// callKey names an operation as Calls and Requests do: "lambda:Invoke".
func callKey(service, op string) string {
	if n, ok := serviceNames[service]; ok {
		service = n
	}
	return strings.ToLower(service) + ":" + op
}

// record journals a request's body (its first maxRequestBody bytes).
func (f *faults) record(service, op string, body []byte) {
	key := callKey(service, op)
	b := bytes.Clone(body[:min(len(body), maxRequestBody)])
	f.mu.Lock()
	defer f.mu.Unlock()
	reqs := append(f.requests[key], b)
	if len(reqs) > maxRequests {
		reqs = slices.Delete(reqs, 0, len(reqs)-maxRequests)
	}
	f.requests[key] = reqs
}

// recordBody journals a request's body and puts it back for the service
// to read. A body past maxBody is read one byte beyond, so that the service
// still refuses it; a failed read leaves what arrived.
func (f *faults) recordBody(r *http.Request, service, op string) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	r.Body = io.NopCloser(bytes.NewReader(body))
	f.record(service, op, body)
}

// journal returns the bodies recorded for an operation, oldest first.
func (f *faults) journal(key string) [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests[key])
}

// count counts an event that is not a call, such as "registry:refused-token".
func (f *faults) count(key string) {
	f.mu.Lock()
	f.calls[key]++
	f.mu.Unlock()
}

func (f *faults) received(n int64) {
	f.mu.Lock()
	f.bytes += n
	f.mu.Unlock()
}

func (f *faults) add(rule Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if rule.Status == 0 && rule.ErrorType != "" {
		rule.Status = http.StatusBadRequest
	}
	f.rules = append(f.rules, &rule)
}

func (f *faults) clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = nil
}

// match returns the latency and error to apply to a call, if any rule fires.
func (f *faults) match(service, op string) (time.Duration, *awsError) {
	if n, ok := serviceNames[service]; ok {
		service = n
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[callKey(service, op)]++
	if err := denied(f.allowed, f.account, strings.ToLower(service), op); err != nil {
		return 0, err
	}
	var latency time.Duration
	for _, r := range f.rules {
		if r.FailUpdate != "" || !r.applies(service, op) || !fire(r) {
			continue // a FailUpdate rule applies once the call is accepted (failedUpdate)
		}
		latency += time.Duration(r.LatencyMs) * time.Millisecond
		if r.ErrorType == "" {
			continue
		}
		msg := r.Message
		if msg == "" {
			msg = "injected by localaws"
		}
		return latency, &awsError{Type: r.ErrorType, Status: r.Status, Message: msg}
	}
	return latency, nil
}

// authorize checks (and logs as a call) an IAM action an operation needs
// beside its own, such as iam:PassRole for CreateFunction: a permission
// check, not an API call, so no fault applies to it.
func (f *faults) authorize(service, action string) *awsError {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[service+":"+action]++
	return denied(f.allowed, f.account, service, action)
}

// fire decides whether a rule applies to this call, and counts it; the
// caller holds f.mu.
func fire(r *Fault) bool {
	if r.Skipped < r.Skip {
		r.Skipped++
		return false
	}
	if r.Probability > 0 && rand.Float64() >= r.Probability {
		return false
	}
	r.Fired++
	return true
}

func (f *faults) list() []Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Fault, len(f.rules))
	for i, r := range f.rules {
		out[i] = *r
	}
	return out
}

// failedUpdate returns the reason code and reason an accepted Lambda update
// of op must settle with, when a FailUpdate rule fires.
func (f *faults) failedUpdate(op string) (code, reason string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.rules {
		if r.FailUpdate == "" || !r.applies("lambda", op) {
			continue
		}
		if fire(r) {
			reason := r.Message
			if reason == "" {
				reason = "injected by localaws"
			}
			return r.FailUpdate, reason
		}
	}
	return "", ""
}

// inject applies the fault rules to a call, and answers it with the
// injected error (through write) when one fires.
func (f *faults) inject(w http.ResponseWriter, service, op string, write func(http.ResponseWriter, any, error)) bool {
	latency, err := f.match(service, op)
	time.Sleep(latency)
	if err != nil {
		write(w, nil, err)
		return true
	}
	return false
}

// serveAdmin is the admin API:
//
//	POST   /_localaws/faults                 add a Fault (JSON body)
//	GET    /_localaws/faults                 the faults added, with how often each fired
//	DELETE /_localaws/faults                 remove every fault
//	POST   /_localaws/registry/expire-tokens expire every registry token now
//	PUT    /_localaws/stacks/NAME            declare a stack: {"outputs": {...}}
//	GET    /_localaws/health                 200 when serving
//	GET    /_localaws/calls                  the Calls made so far
//	GET    /_localaws/requests?op=lambda:Op  the bodies of the last requests for an operation, oldest first
func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/_localaws")
	body, err := readBody(r)
	if err != nil {
		writeJSON11(w, nil, err)
		return
	}
	switch {
	case path == "/health":
		writeJSON11(w, map[string]string{"endpoint": s.Endpoint(), "registry": s.RegistryHost()}, nil)
	case path == "/calls" && r.Method == http.MethodGet:
		writeJSON11(w, s.faults.snapshot(), nil)
	case path == "/requests" && r.Method == http.MethodGet:
		out := []string{}
		for _, b := range s.Requests(r.URL.Query().Get("op")) {
			out = append(out, string(b))
		}
		writeJSON11(w, out, nil)
	case path == "/faults" && r.Method == http.MethodPost:
		var rule Fault
		if err := decodeJSON(body, &rule); err != nil {
			writeJSON11(w, nil, err)
			return
		}
		if rule.Service == "" || rule.Operation == "" {
			writeJSON11(w, nil, badRequest("ValidationException", "a fault needs service and operation (\"*\" for all)"))
			return
		}
		s.faults.add(rule)
		writeJSON11(w, rule, nil)
	case path == "/faults" && r.Method == http.MethodGet:
		writeJSON11(w, s.faults.list(), nil)
	case path == "/faults" && r.Method == http.MethodDelete:
		s.faults.clear()
		writeJSON11(w, nil, nil)
	case path == "/registry/expire-tokens" && r.Method == http.MethodPost:
		s.ecr.expireTokens()
		writeJSON11(w, nil, nil)
	case strings.HasPrefix(path, "/stacks/") && r.Method == http.MethodPut:
		var st Stack
		if err := decodeJSON(body, &st); err != nil {
			writeJSON11(w, nil, err)
			return
		}
		st.Name = strings.TrimPrefix(path, "/stacks/")
		writeJSON11(w, nil, s.cfn.put(st))
	default:
		writeJSON11(w, nil, notFound("UnknownOperationException", "no admin operation at %s %s", r.Method, r.URL.Path))
	}
}
