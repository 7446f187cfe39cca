package build

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
)

// scrubber hides the build secrets' values from what a build reports:
// every line that holds one, raw or base64-encoded, is replaced by a note
// naming the secret (by its id, which is no secret).
type scrubber map[string]string // a form of a secret's value → the secret's id

func newScrubber(secrets map[string][]byte) scrubber {
	s := scrubber{}
	for id, value := range secrets {
		for _, form := range secretForms(string(value)) {
			s[form] = id
		}
	}
	return s
}

// secretForms are the strings that give a value away: the value (without
// surrounding blanks), each of its lines when it has several (a key file),
// and its base64 (standard and URL alphabets) at each of the three
// alignments it can take inside a longer encoded string, cut to the
// characters the value alone decides, so that `base64 /run/secrets/x`,
// with or without a trailing newline, is caught too.
func secretForms(value string) []string {
	value = strings.TrimSpace(value)
	if value == "" {
		return nil
	}
	forms := []string{value}
	if lines := strings.Split(value, "\n"); len(lines) > 1 {
		for _, l := range lines {
			if l = strings.TrimSpace(l); len(l) >= 8 {
				forms = append(forms, l)
			}
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		for pad := range 3 {
			e := enc.EncodeToString(append(make([]byte, pad), value...))
			if f := e[(8*pad+5)/6 : 8*(pad+len(value))/6]; f != "" {
				forms = append(forms, f)
			}
		}
	}
	return forms
}

// text returns s with each line that holds a secret replaced.
func (s scrubber) text(text string) string {
	if len(s) == 0 {
		return text
	}
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if id := s.holds(l); id != "" {
			lines[i] = fmt.Sprintf("[a line holding the value of build secret %q is hidden]", id)
		}
	}
	return strings.Join(lines, "\n")
}

// holds returns the id of a secret whose value is in line, else "".
func (s scrubber) holds(line string) string {
	var ids []string
	for form, id := range s {
		if strings.Contains(line, form) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return ""
	}
	return slices.Min(ids) // the same note whatever the map's order
}
