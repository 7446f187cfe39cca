package localaws

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// store keeps one service's state as a JSON file in the state directory,
// replaced atomically (write, fsync, rename) so that a kill -9 mid-write
// leaves the previous state whole. With no directory, state lives in memory.
type store struct {
	file string // "" keeps nothing on disk
}

func newStore(dir, name string) store {
	if dir == "" {
		return store{}
	}
	return store{file: filepath.Join(dir, name+".json")}
}

// load reads the state into v; a missing file leaves v as it is.
func (s store) load(v any) error {
	if s.file == "" {
		return nil
	}
	b, err := os.ReadFile(s.file)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s is corrupt (%v); move it away to start that service empty", s.file, err)
	}
	return nil
}

// save writes v atomically.
func (s store) save(v any) error {
	if s.file == "" {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.file), ".tmp-"+filepath.Base(s.file)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), s.file)
}
