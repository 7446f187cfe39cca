package localaws

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// maxBody is the largest request body any API accepts, as AWS's own limits
// are (Lambda's invoke payload limit is 6 MB).
const maxBody = 6 << 20

// awsError is an error shaped as AWS returns it: a type (the SDKs' error
// code), an HTTP status and a message.
type awsError struct {
	Type    string
	Status  int
	Message string
}

func (e *awsError) Error() string { return e.Type + ": " + e.Message }

func errorf(status int, typ, format string, a ...any) *awsError {
	return &awsError{Type: typ, Status: status, Message: fmt.Sprintf(format, a...)}
}

func badRequest(typ, format string, a ...any) *awsError {
	return errorf(http.StatusBadRequest, typ, format, a...)
}

func notFound(typ, format string, a ...any) *awsError {
	return errorf(http.StatusNotFound, typ, format, a...)
}

// asAWS turns any error into an AWS-shaped one.
func asAWS(err error) *awsError {
	var a *awsError
	if errors.As(err, &a) {
		return a
	}
	return errorf(http.StatusInternalServerError, "ServiceException", "%v", err)
}

func requestID() string {
	b := make([]byte, 16)
	rand.Read(b)
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// readBody reads a request body up to maxBody.
func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, badRequest("SerializationException", "reading the request body: %v", err)
	}
	if len(b) > maxBody {
		return nil, errorf(http.StatusRequestEntityTooLarge, "RequestEntityTooLargeException", "request body of more than %d bytes", maxBody)
	}
	return b, nil
}

// decodeJSON decodes a JSON request body into v; an empty body is an empty object.
func decodeJSON(body []byte, v any) error {
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return badRequest("SerializationException", "malformed JSON request: %v", err)
	}
	return nil
}

// writeJSON11 answers an AWS JSON 1.1 call (ECR, Logs).
func writeJSON11(w http.ResponseWriter, v any, err error) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-RequestId", requestID())
	if err != nil {
		a := asAWS(err)
		w.Header().Set("X-Amzn-ErrorType", a.Type)
		w.WriteHeader(a.Status)
		json.NewEncoder(w).Encode(map[string]string{"__type": a.Type, "message": a.Message})
		return
	}
	if v == nil {
		v = struct{}{}
	}
	json.NewEncoder(w).Encode(v)
}

// writeREST answers a REST JSON call (Lambda) with a status.
func writeREST(w http.ResponseWriter, status int, v any, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-RequestId", requestID())
	if err != nil {
		a := asAWS(err)
		w.Header().Set("X-Amzn-ErrorType", a.Type)
		w.WriteHeader(a.Status)
		json.NewEncoder(w).Encode(map[string]string{"Type": "User", "message": a.Message})
		return
	}
	w.WriteHeader(status)
	if v != nil {
		json.NewEncoder(w).Encode(v)
	}
}

// writeQuery answers a query-protocol call (STS, CloudFormation) with XML.
func writeQuery(w http.ResponseWriter, action, namespace string, result any, err error) {
	w.Header().Set("Content-Type", "text/xml")
	id := requestID()
	w.Header().Set("X-Amzn-RequestId", id)
	if err != nil {
		a := asAWS(err)
		w.WriteHeader(a.Status)
		fmt.Fprintf(w, `<ErrorResponse xmlns=%q><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
			namespace, a.Type, xmlEscape(a.Message), id)
		return
	}
	out, merr := xml.Marshal(result)
	if merr != nil {
		writeQuery(w, action, namespace, nil, merr)
		return
	}
	fmt.Fprintf(w, `<%sResponse xmlns=%q><%sResult>%s</%sResult><ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>`,
		action, namespace, action, innerXML(out), action, id, action)
}

func xmlEscape(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// innerXML drops the outermost element that xml.Marshal wraps a struct in.
func innerXML(b []byte) string {
	s := string(b)
	start := strings.IndexByte(s, '>')
	end := strings.LastIndexByte(s, '<')
	if start < 0 || end <= start {
		return ""
	}
	return s[start+1 : end]
}

// epoch is a time as AWS JSON 1.1 writes it: seconds since the epoch.
type epoch time.Time

func (e epoch) MarshalJSON() ([]byte, error) {
	return []byte(fmt.Sprintf("%.3f", float64(time.Time(e).UnixMilli())/1000)), nil
}

func (e *epoch) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*e = epoch(time.UnixMilli(int64(f * 1000)))
	return nil
}
