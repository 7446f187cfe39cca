package provider

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go"
)

// Throttling and "an update is in progress" are waited out (until the
// deadline when there is one); a persistent server error or another
// conflict is not.
func TestRetryerWaitsOutThrottlingAndConflictsOnly(t *testing.T) {
	throttled := &smithy.GenericAPIError{Code: "TooManyRequestsException", Message: "Rate exceeded"}
	settling := &smithy.GenericAPIError{Code: "ResourceConflictException", Message: "The operation cannot be performed at this time. An update is in progress for resource: api"}
	exists := &smithy.GenericAPIError{Code: "ResourceConflictException", Message: "Alias already exists: live"}
	failing := &smithy.GenericAPIError{Code: "ServiceException", Message: "internal error"}
	retried := &lastError{}
	bare, timed := newRetryer(false, retried), newRetryer(true, retried)
	if !bare.IsErrorRetryable(settling) || bare.IsErrorRetryable(exists) || !errors.Is(retried.get(), settling) {
		t.Fatalf("conflicts: an update in progress is retried, an existing alias is not (last retried: %v)", retried.get())
	}
	for _, c := range []struct {
		deadline bool
		err      error
		attempt  int
		again    bool
	}{
		{false, throttled, waitAttempts - 1, true},
		{false, throttled, waitAttempts, false},
		{false, settling, waitAttempts, false},
		{false, failing, failAttempts - 1, true},
		{false, failing, failAttempts, false},
		{true, throttled, 10 * waitAttempts, true},
		{true, settling, 10 * waitAttempts, true},
		{true, failing, failAttempts, false},
	} {
		r := map[bool]aws.RetryerV2{false: bare, true: timed}[c.deadline]
		if _, stop := r.RetryDelay(c.attempt, c.err); (stop == nil) != c.again {
			t.Errorf("%v after attempt %d (deadline: %v): retry %v, want %v", c.err, c.attempt, c.deadline, stop == nil, c.again)
		}
	}
}
