package localaws

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// journal is an append-only log of changes beside a store's snapshot: each
// change costs one small append rather than a rewrite of the whole state,
// which matters for CloudWatch Logs, where every invocation adds lines. On
// start the journal is replayed over the snapshot and folded into it. A line
// torn by a kill -9 mid-append is dropped; everything before it is kept.
type journal struct {
	file string
	f    *os.File
}

func newJournal(dir, name string) *journal {
	if dir == "" {
		return &journal{}
	}
	return &journal{file: filepath.Join(dir, name+".journal")}
}

// replay calls apply with each record of the journal, in order.
func (j *journal) replay(apply func(raw json.RawMessage) error) error {
	if j.file == "" {
		return nil
	}
	f, err := os.Open(j.file)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	lines := bufio.NewScanner(f)
	lines.Buffer(make([]byte, 0, 64<<10), maxBody)
	var pending []byte
	for lines.Scan() {
		if pending != nil { // a line that did not parse, followed by more: corruption, not a torn end
			return fmt.Errorf("%s is corrupt near %q; move it away to start that service's recent changes empty", j.file, pending)
		}
		line := lines.Bytes()
		if !json.Valid(line) {
			pending = append([]byte(nil), line...)
			continue
		}
		if err := apply(line); err != nil {
			return err
		}
	}
	return lines.Err()
}

// reset empties the journal (after its changes went into a snapshot) and
// opens it for appending.
func (j *journal) reset() error {
	if j.file == "" {
		return nil
	}
	if j.f != nil {
		j.f.Close()
	}
	f, err := os.OpenFile(j.file, os.O_CREATE|os.O_WRONLY|os.O_TRUNC|os.O_APPEND, 0o644)
	j.f = f
	return err
}

// append writes one record as one line, in one write.
func (j *journal) append(record any) error {
	if j.f == nil {
		return nil
	}
	b, err := json.Marshal(record)
	if err != nil {
		return err
	}
	_, err = j.f.Write(append(b, '\n'))
	return err
}

func (j *journal) close() {
	if j.f != nil {
		j.f.Close()
		j.f = nil
	}
}
