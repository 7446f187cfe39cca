package provider

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync"
	"time"
)

// ProfileDir is the environment variable that turns profiling on: while
// checks and deployments run, the provider records a CPU profile, and when
// the last one ends it writes cpu-*.pprof and heap-*.pprof there (`make
// bench` reads them with go tool pprof). Off by default.
const ProfileDir = "LAMBDACONTAINER_PROFILE_DIR"

var profiling struct {
	sync.Mutex
	running int // checks and deployments in progress
	cpu     *os.File
}

// profile starts the CPU profile with the first check or deployment in
// progress and returns the function that stops it with the last, writing
// the heap too.
func profile() func() {
	dir := os.Getenv(ProfileDir)
	if dir == "" {
		return func() {}
	}
	profiling.Lock()
	defer profiling.Unlock()
	if profiling.running == 0 {
		if err := os.MkdirAll(dir, 0o755); err == nil {
			if f, err := os.Create(filepath.Join(dir, fmt.Sprintf("cpu-%d.pprof", time.Now().UnixNano()))); err == nil {
				if pprof.StartCPUProfile(f) == nil {
					profiling.cpu = f
				} else {
					f.Close()
				}
			}
		}
	}
	profiling.running++
	return func() {
		profiling.Lock()
		defer profiling.Unlock()
		if profiling.running--; profiling.running > 0 || profiling.cpu == nil {
			return
		}
		pprof.StopCPUProfile()
		profiling.cpu.Close()
		profiling.cpu = nil
		runtime.GC()
		if f, err := os.Create(filepath.Join(dir, fmt.Sprintf("heap-%d.pprof", time.Now().UnixNano()))); err == nil {
			pprof.WriteHeapProfile(f)
			f.Close()
		}
	}
}
