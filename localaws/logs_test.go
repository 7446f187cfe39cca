package localaws

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

func TestLogs(t *testing.T) {
	s := start(t, Options{})
	c := cloudwatchlogs.NewFromConfig(cfg(s))
	group := aws.String("/aws/lambda/orders-api")
	if _, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: group}); err != nil {
		t.Fatal(err)
	}
	var exists *types.ResourceAlreadyExistsException
	if _, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: group}); !errors.As(err, &exists) {
		t.Fatalf("a second CreateLogGroup: %v", err)
	}
	var missing *types.ResourceNotFoundException
	if _, err := c.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: group, LogStreamName: aws.String("nope"),
		LogEvents: []types.InputLogEvent{{Timestamp: aws.Int64(1), Message: aws.String("x")}}}); !errors.As(err, &missing) {
		t.Fatalf("PutLogEvents to a missing stream: %v", err)
	}
	base := time.Now().Add(-time.Minute).UnixMilli()
	// The stream whose name sorts first has the latest events, so that name order and time order differ.
	for i, stream := range []string{"2026/12/03/[$LATEST]aaa", "2026/12/03/[1]bbb"} {
		c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: group, LogStreamName: aws.String(stream)})
		var events []types.InputLogEvent
		for j, msg := range []string{"START RequestId: r1", "[ERROR] Runtime.ImportModuleError: No module named 'yaml'", "END RequestId: r1", "REPORT RequestId: r1 Duration: 1.00 ms"} {
			events = append(events, types.InputLogEvent{Timestamp: aws.Int64(base + int64((1-i)*100+j)), Message: aws.String(msg)})
		}
		if _, err := c.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: group, LogStreamName: aws.String(stream), LogEvents: events}); err != nil {
			t.Fatal(err)
		}
	}
	var invalid *types.InvalidParameterException
	if _, err := c.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: group, LogStreamName: aws.String("2026/12/03/[1]bbb"),
		LogEvents: []types.InputLogEvent{{Timestamp: aws.Int64(5), Message: aws.String("b")}, {Timestamp: aws.Int64(4), Message: aws.String("a")}}}); !errors.As(err, &invalid) {
		t.Fatalf("out-of-order events: %v", err)
	}

	for _, tc := range []struct {
		order      types.OrderBy
		descending bool
		first      string
	}{
		{types.OrderByLastEventTime, true, "2026/12/03/[$LATEST]aaa"},
		{types.OrderByLastEventTime, false, "2026/12/03/[1]bbb"},
		{types.OrderByLogStreamName, false, "2026/12/03/[$LATEST]aaa"},
		{types.OrderByLogStreamName, true, "2026/12/03/[1]bbb"},
	} {
		streams, err := c.DescribeLogStreams(ctx, &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: group, OrderBy: tc.order, Descending: aws.Bool(tc.descending)})
		if err != nil || len(streams.LogStreams) != 2 || *streams.LogStreams[0].LogStreamName != tc.first || streams.LogStreams[0].LastEventTimestamp == nil {
			t.Fatalf("DescribeLogStreams by %s, descending %v: %v %+v", tc.order, tc.descending, err, streams)
		}
	}

	// Paging forward: at the end, the forward token sent comes back.
	var seen []string
	var sent *string
	pages := 0
	for {
		out, err := c.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: group, LogStreamName: aws.String("2026/12/03/[$LATEST]aaa"),
			StartFromHead: aws.Bool(true), Limit: aws.Int32(3), NextToken: sent})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, e := range out.Events {
			seen = append(seen, *e.Message)
		}
		if sent != nil && *out.NextForwardToken == *sent {
			break
		}
		if pages == 10 {
			t.Fatalf("the forward token never came back: %d pages, %q", pages, seen)
		}
		sent = out.NextForwardToken
	}
	if pages != 3 || len(seen) != 4 || seen[0] != "START RequestId: r1" { // 3 events, 1, then none with the token sent
		t.Fatalf("GetLogEvents in %d pages: %q", pages, seen)
	}
	tail, _ := c.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: group, LogStreamName: aws.String("2026/12/03/[$LATEST]aaa"), Limit: aws.Int32(1)})
	if len(tail.Events) != 1 || *tail.Events[0].Message != "REPORT RequestId: r1 Duration: 1.00 ms" {
		t.Fatalf("without startFromHead, the newest events come: %+v", tail.Events)
	}

	for pattern, want := range map[string]int{
		"":                               8,
		"ERROR":                          2,
		`"No module named"`:              2,
		"?START ?END":                    4,
		"RequestId -REPORT -START":       2,
		"Runtime.ImportModuleError yaml": 2,
		"Traceback":                      0,
	} {
		var n int
		pages := cloudwatchlogs.NewFilterLogEventsPaginator(c, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: group, FilterPattern: aws.String(pattern), Limit: aws.Int32(3)})
		for pages.HasMorePages() {
			p, err := pages.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			n += len(p.Events)
		}
		if n != want {
			t.Errorf("FilterLogEvents %q: %d events, want %d", pattern, n, want)
		}
	}
	window, _ := c.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: group, StartTime: aws.Int64(base + 100), EndTime: aws.Int64(base + 101)})
	if len(window.Events) != 2 {
		t.Fatalf("a time window: %+v", window.Events)
	}
	if _, err := c.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: group, FilterPattern: aws.String(`{ $.level = "ERROR" }`)}); !errors.As(err, &invalid) {
		t.Fatalf("a JSON pattern must be refused clearly: %v", err)
	}
}

// Log events are journaled, one append each: a restart without a clean
// close (a kill -9) replays them, and a line torn mid-append is dropped.
func TestLogsJournalSurvivesAKill(t *testing.T) {
	dir := t.TempDir()
	l, err := newLogs(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		l.Append("/aws/lambda/api", "s1", logEvent{Timestamp: int64(i + 1), Message: fmt.Sprintf("line %d", i)})
	}
	l.Append("/aws/lambda/api", "s1", logEvent{Timestamp: 0, Message: "late"}) // out of order: kept in time order
	// No close: the process died. Then half a line reached the disk.
	f, _ := os.OpenFile(filepath.Join(dir, "logs.journal"), os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"op": "events", "group": "/aws/lambda/api", "str`)
	f.Close()
	again, err := newLogs(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	events := again.groups["/aws/lambda/api"].Streams["s1"].Events
	if len(events) != 4 || events[0].Message != "late" || events[3].Message != "line 2" {
		t.Fatalf("after the kill: %+v", events)
	}
	if st, _ := os.Stat(filepath.Join(dir, "logs.journal")); st.Size() != 0 {
		t.Fatalf("the journal was not folded into the snapshot on start")
	}
	f, _ = os.OpenFile(filepath.Join(dir, "logs.journal"), os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString("not json\n{\"op\": \"group\", \"group\": \"g\"}\n")
	f.Close()
	if _, err := newLogs(Options{Dir: dir}); err == nil || !strings.Contains(err.Error(), "is corrupt") {
		t.Fatalf("a corrupt line before good ones: %v", err)
	}
}
