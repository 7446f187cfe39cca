package analyze

import (
	"context"
	"testing"
	"time"

	"github.com/lambdacontainer/pulumi-lambdacontainer/internal/analyze/synth"
)

func BenchmarkAnalyze2000Files(b *testing.B) {
	files := synth.Backend2000()
	dir := writeProject(b, files)
	in := inputFor(b, dir, "")
	if n := len(in.Files); n < 2000 {
		b.Fatalf("only %d files", n)
	}
	fs, err := Analyze(context.Background(), in)
	if err != nil {
		b.Fatal(err)
	}
	if len(fs) != 0 {
		b.Fatalf("the generated backend should be clean: %+v", fs[:min(3, len(fs))])
	}
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		if _, err := Analyze(context.Background(), in); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(start).Milliseconds())/float64(b.N), "ms/op")
}
