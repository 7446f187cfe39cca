package rollout

import (
	"slices"
	"testing"
)

func TestWindowKeepsTheNewestAndWhatAliasesRouteTo(t *testing.T) {
	r := References{Latest: "sha256:l", Aliases: map[string]int{"live": 2}, Weighted: []int{3},
		Versions: []Version{{1, "sha256:a"}, {2, "sha256:b"}, {3, "sha256:c"}, {4, "sha256:d"}, {5, "sha256:e"}, {6, "sha256:f"}}}
	kept, stale := r.Window(2)
	numbers := func(vs []Version) (out []int) {
		for _, v := range vs {
			out = append(out, v.Number)
		}
		return out
	}
	if !slices.Equal(numbers(kept), []int{2, 3, 5, 6}) || !slices.Equal(numbers(stale), []int{1, 4}) {
		t.Fatalf("kept %v, stale %v", numbers(kept), numbers(stale))
	}
	use := r.InUse(kept)
	if len(use) != 5 || !use["sha256:l"] || use["sha256:a"] || use["sha256:d"] {
		t.Fatalf("in use: %v", use)
	}
}

func TestUnqualified(t *testing.T) {
	for in, want := range map[string]string{
		"arn:aws:lambda:us-east-1:123456789012:function:api":      "arn:aws:lambda:us-east-1:123456789012:function:api",
		"arn:aws:lambda:us-east-1:123456789012:function:api:live": "arn:aws:lambda:us-east-1:123456789012:function:api",
		"arn:aws:lambda:us-east-1:123456789012:function:api:7":    "arn:aws:lambda:us-east-1:123456789012:function:api",
	} {
		if got := unqualified(in); got != want {
			t.Errorf("unqualified(%s) = %s", in, got)
		}
	}
}
