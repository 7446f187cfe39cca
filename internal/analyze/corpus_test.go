package analyze

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// A corpus project is a build context under testdata/corpus/NAME with an
// expected.json: how to analyze it and the findings it must give.
type corpusCase struct {
	Description string            `json:"description"`
	Dockerfile  string            `json:"dockerfile"`
	BuildArgs   map[string]string `json:"buildArgs"`
	Target      string            `json:"target"`
	Environment map[string]string `json:"environment"` // null: unknown
	Findings    []expectedFinding `json:"findings"`
}

type expectedFinding struct {
	Code     string `json:"code"`
	File     string `json:"file"`
	Module   string `json:"module"`
	Dist     string `json:"dist"`     // the distribution the fix must suggest; "" for none
	Severity string `json:"severity"` // checked when given
}

type findingKey struct{ code, file, module string }

var firstQuoted = regexp.MustCompile("`([^`]+)`")

// suggested is the distribution a fix suggests: its first `quoted` word.
func suggested(fix string) string {
	if m := firstQuoted.FindStringSubmatch(fix); m != nil {
		return m[1]
	}
	return ""
}

func TestCorpus(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "corpus", "*", "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < 40 {
		t.Fatalf("the corpus has %d projects, want at least 40", len(dirs))
	}
	var tp, predicted, expected, suggestions, right int
	for _, exp := range dirs {
		dir, _ := filepath.Abs(filepath.Dir(exp))
		name := filepath.Base(dir)
		var c corpusCase
		data, err := os.ReadFile(exp)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &c); err != nil {
			t.Fatalf("%s: %v", exp, err)
		}
		in := inputFor(t, dir, c.Dockerfile)
		in.BuildArgs, in.Target, in.Environment, in.CacheKey = c.BuildArgs, c.Target, c.Environment, ""
		got, err := Analyze(context.Background(), in)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		gotBy := map[findingKey]Finding{}
		for _, f := range got {
			if strings.Contains(f.Message+f.Fix+f.File, dir) {
				t.Errorf("%s: a finding names the machine's path: %+v", name, f)
			}
			k := findingKey{f.Code, f.File, f.Module}
			if _, dup := gotBy[k]; !dup {
				gotBy[k] = f
			}
		}
		want := map[findingKey]expectedFinding{}
		for _, e := range c.Findings {
			want[findingKey{e.Code, e.File, e.Module}] = e
		}
		predicted += len(gotBy)
		expected += len(want)
		for k, e := range want {
			f, ok := gotBy[k]
			if !ok {
				t.Logf("%s: missed %s %s %s", name, k.code, k.file, k.module)
				continue
			}
			tp++
			if e.Severity != "" && f.Severity != e.Severity {
				t.Errorf("%s: %s %s %s is a %s, want a %s", name, k.code, k.file, k.module, f.Severity, e.Severity)
			}
			if e.Dist != "" {
				suggestions++
				if s := suggested(f.Fix); s == e.Dist {
					right++
				} else {
					t.Logf("%s: %s %s suggests %q (%s), want %q", name, k.code, k.module, s, f.Fix, e.Dist)
				}
			}
		}
		for _, k := range slices.SortedFunc(func(yield func(findingKey) bool) {
			for k := range gotBy {
				if !yield(k) {
					return
				}
			}
		}, func(a, b findingKey) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) }) {
			if _, ok := want[k]; !ok {
				f := gotBy[k]
				t.Logf("%s: unexpected %s %s:%d %s: %s (fix: %s)", name, f.Code, f.File, f.Line, f.Module, f.Message, f.Fix)
			}
		}
	}
	ratio := func(a, b int) float64 {
		if b == 0 {
			return 1
		}
		return float64(a) / float64(b)
	}
	precision, recall, accuracy := ratio(tp, predicted), ratio(tp, expected), ratio(right, suggestions)
	t.Logf("corpus: %d projects, %d expected findings, %d reported; precision %.3f, recall %.3f, suggestion accuracy %.3f (%d/%d)",
		len(dirs), expected, predicted, precision, recall, accuracy, right, suggestions)
	if precision < 0.98 || recall < 0.95 || accuracy < 0.95 {
		t.Fatalf("below the bar (precision 0.98, recall 0.95, suggestion accuracy 0.95)")
	}
}
