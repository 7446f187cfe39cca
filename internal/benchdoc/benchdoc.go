// Package benchdoc keeps docs/benchmarks.md for the benchmark commands
// (hashbench, analyzebench, tests/bench): each owns one section of it,
// between <!-- NAME:begin --> and <!-- NAME:end -->, and reports medians on
// the machine it ran on.
package benchdoc

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Median is the median of ds.
func Median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// Millis formats d as milliseconds, to a tenth.
func Millis(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

// Machine says what the figures were measured on: "2 cores (CPU model),
// Linux <release>, go<version>".
func Machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		if m := regexp.MustCompile(`model name\s*:\s*(.*)`).FindSubmatch(b); m != nil {
			cpu = strings.TrimSpace(string(m[1]))
		}
	}
	kernel := "unknown"
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = strings.TrimSpace(string(b))
	}
	return fmt.Sprintf("%d cores (%s), Linux %s, %s", runtime.NumCPU(), cpu, kernel, runtime.Version())
}

// Write puts body into the section name of the document at path, keeping
// the rest; a missing section is appended, a missing document created.
func Write(path, name, body string) error {
	begin, end := "<!-- "+name+":begin -->\n", "<!-- "+name+":end -->\n"
	section := begin + strings.TrimRight(body, "\n") + "\n" + end
	doc, err := os.ReadFile(path)
	if err != nil {
		doc = []byte("# Benchmarks\n\nFigures of record are ratios against a baseline measured in the same run; absolute times are context.\n")
	}
	text := string(doc)
	if i, j := strings.Index(text, begin), strings.Index(text, end); i >= 0 && j > i {
		text = text[:i] + section + text[j+len(end):]
	} else {
		text += "\n" + section
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(text), 0o644)
}
