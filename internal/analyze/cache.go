package analyze

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
)

// analyzerVersion is part of every cache key: bump it when findings change.
const analyzerVersion = "analyze/1"

// cacheKey digests every input that decides the findings. The context's
// contents are in CacheKey, the source hash.
func cacheKey(in *Input, rel string) string {
	if in.CacheDir == "" || in.CacheKey == "" {
		return ""
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00", analyzerVersion, in.CacheKey, rel, in.Target)
	for _, k := range slices.Sorted(maps.Keys(in.BuildArgs)) {
		fmt.Fprintf(h, "arg\x00%s\x00%s\x00", k, in.BuildArgs[k])
	}
	if in.Environment == nil {
		fmt.Fprint(h, "env unknown\x00")
	}
	for _, k := range slices.Sorted(maps.Keys(in.Environment)) {
		fmt.Fprintf(h, "env\x00%s\x00", k) // only the names matter
	}
	for _, p := range slices.Sorted(slices.Values(in.Files)) {
		fmt.Fprintf(h, "file\x00%s\x00", p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

type cacheEntry struct {
	Version  string    `json:"version"`
	Key      string    `json:"key"`
	Findings []Finding `json:"findings"`
}

func cacheFile(dir, key string) string { return filepath.Join(dir, "analyze-"+key+".json") }

// readCache returns the cached findings for key; a missing or corrupt entry
// is a miss.
func readCache(dir, key string) ([]Finding, bool) {
	if key == "" {
		return nil, false
	}
	data, err := os.ReadFile(cacheFile(dir, key))
	if err != nil {
		return nil, false
	}
	var e cacheEntry
	if json.Unmarshal(data, &e) != nil || e.Version != analyzerVersion || e.Key != key || e.Findings == nil {
		return nil, false
	}
	return e.Findings, true
}

// writeCache stores findings atomically (a temporary file renamed into
// place). A cache that cannot be written only costs the next run time.
func writeCache(dir, key string, findings []Finding) {
	if key == "" {
		return
	}
	data, err := json.Marshal(cacheEntry{Version: analyzerVersion, Key: key, Findings: findings})
	if err != nil || os.MkdirAll(dir, 0o755) != nil {
		return
	}
	tmp, err := os.CreateTemp(dir, ".analyze-*.tmp")
	if err != nil {
		return
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), cacheFile(dir, key))
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
}
