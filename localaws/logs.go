package localaws

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

const logsTarget = "Logs_20140328"

// logsService is CloudWatch Logs: groups of streams of events.
type logsService struct {
	mu      sync.Mutex
	account string
	region  string
	groups  map[string]*logGroup
	store   store    // the snapshot
	journal *journal // the changes since
}

// logChange is one journaled change: a group or stream created, a group
// deleted, or events appended (creating the group and stream as needed).
type logChange struct {
	Op     string     `json:"op"` // group, delete, stream, events
	Group  string     `json:"group"`
	Stream string     `json:"stream,omitempty"`
	Time   int64      `json:"time,omitempty"`
	Events []logEvent `json:"events,omitempty"`
}

type logGroup struct {
	Created int64                 `json:"created"`
	Streams map[string]*logStream `json:"streams"`
}

type logStream struct {
	Created int64      `json:"created"`
	Events  []logEvent `json:"events"`
}

type logEvent struct {
	Timestamp int64  `json:"timestamp"`
	Message   string `json:"message"`
	Ingestion int64  `json:"ingestionTime"`
}

func newLogs(opts Options) (*logsService, error) {
	l := &logsService{account: opts.Account, region: opts.Region, groups: map[string]*logGroup{},
		store: newStore(opts.Dir, "logs"), journal: newJournal(opts.Dir, "logs")}
	if err := l.store.load(&l.groups); err != nil {
		return nil, err
	}
	err := l.journal.replay(func(raw json.RawMessage) error {
		var c logChange
		if err := json.Unmarshal(raw, &c); err != nil {
			return err
		}
		l.apply(c)
		return nil
	})
	if err == nil {
		err = l.compact()
	}
	return l, err
}

// apply makes a change to the groups; the caller holds l.mu (or owns l).
func (l *logsService) apply(c logChange) {
	g := l.groups[c.Group]
	if g == nil && c.Op != "delete" {
		g = &logGroup{Created: c.Time, Streams: map[string]*logStream{}}
		l.groups[c.Group] = g
	}
	switch c.Op {
	case "delete":
		delete(l.groups, c.Group)
	case "stream", "events":
		s := g.Streams[c.Stream]
		if s == nil {
			s = &logStream{Created: c.Time}
			g.Streams[c.Stream] = s
		}
		late := len(s.Events) > 0 && len(c.Events) > 0 && c.Events[0].Timestamp < s.Events[len(s.Events)-1].Timestamp
		s.Events = append(s.Events, c.Events...)
		if late { // events older than the stream's last: keep it in time order
			sort.SliceStable(s.Events, func(i, j int) bool { return s.Events[i].Timestamp < s.Events[j].Timestamp })
		}
	}
}

// change applies a change and journals it.
func (l *logsService) change(c logChange) error {
	if c.Time == 0 {
		c.Time = nowMs()
	}
	l.apply(c)
	return l.journal.append(c)
}

// compact writes the groups as the snapshot and empties the journal.
func (l *logsService) compact() error {
	if err := l.store.save(l.groups); err != nil {
		return err
	}
	return l.journal.reset()
}

// close folds the journal into the snapshot.
func (l *logsService) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.compact()
	l.journal.close()
}

func nowMs() int64 { return time.Now().UnixMilli() }

func (l *logsService) groupArn(name string) string {
	return fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s", l.region, l.account, name)
}

// Append writes events to a stream, creating the group and stream as Lambda does.
func (l *logsService) Append(group, stream string, events ...logEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := nowMs()
	for i := range events {
		if events[i].Ingestion == 0 {
			events[i].Ingestion = now
		}
	}
	l.change(logChange{Op: "events", Group: group, Stream: stream, Events: events})
}

func (l *logsService) group(name string) (*logGroup, error) {
	if g, ok := l.groups[name]; ok {
		return g, nil
	}
	return nil, badRequest("ResourceNotFoundException", "The specified log group does not exist.")
}

func (l *logsService) stream(group, name string) (*logStream, error) {
	g, err := l.group(group)
	if err != nil {
		return nil, err
	}
	if s, ok := g.Streams[name]; ok {
		return s, nil
	}
	return nil, badRequest("ResourceNotFoundException", "The specified log stream does not exist.")
}

func (l *logsService) serve(w http.ResponseWriter, r *http.Request, op string) {
	body, err := readBody(r)
	if err != nil {
		writeJSON11(w, nil, err)
		return
	}
	var in struct {
		LogGroupName        string     `json:"logGroupName"`
		LogGroupNamePrefix  string     `json:"logGroupNamePrefix"`
		LogStreamName       string     `json:"logStreamName"`
		LogStreamNames      []string   `json:"logStreamNames"`
		LogStreamNamePrefix string     `json:"logStreamNamePrefix"`
		LogEvents           []logEvent `json:"logEvents"`
		StartTime           *int64     `json:"startTime"`
		EndTime             *int64     `json:"endTime"`
		StartFromHead       bool       `json:"startFromHead"`
		Limit               int        `json:"limit"`
		NextToken           string     `json:"nextToken"`
		FilterPattern       string     `json:"filterPattern"`
		OrderBy             string     `json:"orderBy"`
		Descending          bool       `json:"descending"`
	}
	if err := decodeJSON(body, &in); err != nil {
		writeJSON11(w, nil, err)
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var out any
	switch op {
	case "CreateLogGroup":
		if _, ok := l.groups[in.LogGroupName]; ok {
			err = badRequest("ResourceAlreadyExistsException", "The specified log group already exists")
		} else if in.LogGroupName == "" {
			err = badRequest("InvalidParameterException", "logGroupName is required")
		} else {
			err = l.change(logChange{Op: "group", Group: in.LogGroupName})
		}
	case "DeleteLogGroup":
		if _, err = l.group(in.LogGroupName); err == nil {
			err = l.change(logChange{Op: "delete", Group: in.LogGroupName})
		}
	case "DescribeLogGroups":
		out, err = l.describeGroups(in.LogGroupNamePrefix, in.Limit, in.NextToken)
	case "CreateLogStream":
		var g *logGroup
		if g, err = l.group(in.LogGroupName); err == nil {
			if _, ok := g.Streams[in.LogStreamName]; ok {
				err = badRequest("ResourceAlreadyExistsException", "The specified log stream already exists")
			} else {
				err = l.change(logChange{Op: "stream", Group: in.LogGroupName, Stream: in.LogStreamName})
			}
		}
	case "DescribeLogStreams":
		out, err = l.describeStreams(in.LogGroupName, in.LogStreamNamePrefix, in.OrderBy, in.Descending, in.Limit, in.NextToken)
	case "PutLogEvents":
		out, err = l.putEvents(in.LogGroupName, in.LogStreamName, in.LogEvents)
	case "GetLogEvents":
		out, err = l.getEvents(in.LogGroupName, in.LogStreamName, in.StartTime, in.EndTime, in.StartFromHead, in.Limit, in.NextToken)
	case "FilterLogEvents":
		out, err = l.filterEvents(in.LogGroupName, in.LogStreamNames, in.LogStreamNamePrefix, in.StartTime, in.EndTime, in.FilterPattern, in.Limit, in.NextToken)
	default:
		err = badRequest("UnknownOperationException", "localaws does not implement CloudWatch Logs' %s", op)
	}
	writeJSON11(w, out, err)
}

func (l *logsService) describeGroups(prefix string, limit int, token string) (any, error) {
	var names []string
	for n := range l.groups {
		if strings.HasPrefix(n, prefix) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	names, next, err := page(names, limit, token, 50)
	if err != nil {
		return nil, err
	}
	groups := []map[string]any{}
	for _, n := range names {
		groups = append(groups, map[string]any{"logGroupName": n, "creationTime": l.groups[n].Created,
			"arn": l.groupArn(n) + ":*", "logGroupArn": l.groupArn(n), "storedBytes": 0})
	}
	return map[string]any{"logGroups": groups, "nextToken": omitEmpty(next)}, nil
}

func (l *logsService) describeStreams(group, prefix, orderBy string, descending bool, limit int, token string) (any, error) {
	g, err := l.group(group)
	if err != nil {
		return nil, err
	}
	if orderBy == "LastEventTime" && prefix != "" {
		return nil, badRequest("InvalidParameterException", "Cannot order by LastEventTime with a logStreamNamePrefix.")
	}
	var names []string
	for n := range g.Streams {
		if strings.HasPrefix(n, prefix) {
			names = append(names, n)
		}
	}
	last := func(n string) int64 {
		if ev := g.Streams[n].Events; len(ev) > 0 {
			return ev[len(ev)-1].Timestamp
		}
		return 0
	}
	sort.Slice(names, func(i, j int) bool {
		less := names[i] < names[j]
		if orderBy == "LastEventTime" && last(names[i]) != last(names[j]) {
			less = last(names[i]) < last(names[j])
		}
		return less != descending
	})
	names, next, err := page(names, limit, token, 50)
	if err != nil {
		return nil, err
	}
	streams := []map[string]any{}
	for _, n := range names {
		s := g.Streams[n]
		d := map[string]any{"logStreamName": n, "creationTime": s.Created, "storedBytes": 0,
			"arn": l.groupArn(group) + ":log-stream:" + n}
		if len(s.Events) > 0 {
			d["firstEventTimestamp"] = s.Events[0].Timestamp
			d["lastEventTimestamp"] = s.Events[len(s.Events)-1].Timestamp
			d["lastIngestionTime"] = s.Events[len(s.Events)-1].Ingestion
		}
		streams = append(streams, d)
	}
	return map[string]any{"logStreams": streams, "nextToken": omitEmpty(next)}, nil
}

func (l *logsService) putEvents(group, stream string, events []logEvent) (any, error) {
	s, err := l.stream(group, stream)
	if err != nil {
		return nil, err
	}
	if len(events) == 0 || len(events) > 10000 {
		return nil, badRequest("InvalidParameterException", "logEvents must hold 1 to 10000 events")
	}
	for i := range events {
		if i > 0 && events[i].Timestamp < events[i-1].Timestamp {
			return nil, badRequest("InvalidParameterException", "Log events in a single PutLogEvents request must be in chronological order.")
		}
		events[i].Ingestion = nowMs()
	}
	err = l.change(logChange{Op: "events", Group: group, Stream: stream, Events: events})
	return map[string]any{"nextSequenceToken": strconv.Itoa(len(s.Events))}, err
}

func eventOut(e logEvent) map[string]any {
	return map[string]any{"timestamp": e.Timestamp, "message": e.Message, "ingestionTime": e.Ingestion}
}

// getEvents pages through one stream. Forward tokens ("f/N") and backward
// ones ("b/N") are positions; at the end, the forward token comes back
// unchanged, as CloudWatch's does.
func (l *logsService) getEvents(group, stream string, start, end *int64, fromHead bool, limit int, token string) (any, error) {
	s, err := l.stream(group, stream)
	if err != nil {
		return nil, err
	}
	var window []logEvent
	for _, e := range s.Events {
		if (start == nil || e.Timestamp >= *start) && (end == nil || e.Timestamp < *end) {
			window = append(window, e)
		}
	}
	if limit <= 0 || limit > 10000 {
		limit = 10000
	}
	from, to := 0, len(window)
	switch {
	case strings.HasPrefix(token, "f/"):
		n, err := strconv.Atoi(token[2:])
		if err != nil || n < 0 || n > len(window) {
			return nil, badRequest("InvalidParameterException", "The specified nextToken is invalid.")
		}
		from, to = n, min(n+limit, len(window))
	case strings.HasPrefix(token, "b/"):
		n, err := strconv.Atoi(token[2:])
		if err != nil || n < 0 || n > len(window) {
			return nil, badRequest("InvalidParameterException", "The specified nextToken is invalid.")
		}
		from, to = max(n-limit, 0), n
	case token != "":
		return nil, badRequest("InvalidParameterException", "The specified nextToken is invalid.")
	case fromHead:
		to = min(limit, len(window))
	default:
		from = max(len(window)-limit, 0)
	}
	events := []map[string]any{}
	for _, e := range window[from:to] {
		events = append(events, eventOut(e))
	}
	return map[string]any{"events": events, "nextForwardToken": "f/" + strconv.Itoa(to), "nextBackwardToken": "b/" + strconv.Itoa(from)}, nil
}

// termPattern is a CloudWatch term filter pattern: every plain term (or
// "quoted phrase") must appear, no -term may, and when ?terms are given at
// least one of them must. Matching is case-sensitive.
type termPattern struct{ all, any, none []string }

func parsePattern(p string) (termPattern, error) {
	var tp termPattern
	p = strings.TrimSpace(p)
	if strings.HasPrefix(p, "{") || strings.HasPrefix(p, "[") {
		return tp, badRequest("InvalidParameterException", "localaws supports term filter patterns (words, \"phrases\", ?either, -without), not JSON or space-delimited ones")
	}
	for p != "" {
		prefix := ""
		if p[0] == '?' || p[0] == '-' {
			prefix, p = p[:1], p[1:]
		}
		var term string
		if strings.HasPrefix(p, `"`) {
			end := strings.Index(p[1:], `"`)
			if end < 0 {
				return tp, badRequest("InvalidParameterException", "Invalid filter pattern: unbalanced quote")
			}
			term, p = p[1:end+1], p[end+2:]
		} else {
			end := strings.IndexAny(p, " \t")
			if end < 0 {
				end = len(p)
			}
			term, p = p[:end], p[end:]
		}
		p = strings.TrimSpace(p)
		switch prefix {
		case "?":
			tp.any = append(tp.any, term)
		case "-":
			tp.none = append(tp.none, term)
		default:
			tp.all = append(tp.all, term)
		}
	}
	return tp, nil
}

func (tp termPattern) match(msg string) bool {
	for _, t := range tp.all {
		if !strings.Contains(msg, t) {
			return false
		}
	}
	for _, t := range tp.none {
		if strings.Contains(msg, t) {
			return false
		}
	}
	if len(tp.any) == 0 {
		return true
	}
	for _, t := range tp.any {
		if strings.Contains(msg, t) {
			return true
		}
	}
	return false
}

func (l *logsService) filterEvents(group string, streams []string, prefix string, start, end *int64, pattern string, limit int, token string) (any, error) {
	g, err := l.group(group)
	if err != nil {
		return nil, err
	}
	tp, err := parsePattern(pattern)
	if err != nil {
		return nil, err
	}
	var names []string
	for n := range g.Streams {
		if (len(streams) == 0 || slices.Contains(streams, n)) && strings.HasPrefix(n, prefix) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	type hit struct {
		stream string
		e      logEvent
		i      int
	}
	var hits []hit
	for _, n := range names {
		for i, e := range g.Streams[n].Events {
			if (start == nil || e.Timestamp >= *start) && (end == nil || e.Timestamp <= *end) && tp.match(e.Message) {
				hits = append(hits, hit{n, e, i})
			}
		}
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].e.Timestamp < hits[j].e.Timestamp })
	hits, next, err := page(hits, limit, token, 10000)
	if err != nil {
		return nil, err
	}
	events := []map[string]any{}
	for _, h := range hits {
		ev := eventOut(h.e)
		ev["logStreamName"] = h.stream
		ev["eventId"] = fmt.Sprintf("%s-%d", h.stream, h.i)
		events = append(events, ev)
	}
	searched := []map[string]any{}
	for _, n := range names {
		searched = append(searched, map[string]any{"logStreamName": n, "searchedCompletely": true})
	}
	return map[string]any{"events": events, "searchedLogStreams": searched, "nextToken": omitEmpty(next)}, nil
}
