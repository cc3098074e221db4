package registry

import (
	"errors"
	"strings"
	"testing"
)

// FuzzNames checks module and label names against the rules their errors state, and that
// every rejection is an ErrInvalid.
func FuzzNames(f *testing.F) {
	for _, s := range []string{"app", "a.b-c_d", "App", "-app", "", "v1.0.0", "main", "a b", "a\tb", "a\x7f", "ä",
		strings.Repeat("a", 100), strings.Repeat("a", 101), strings.Repeat("l", 251)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if err := CheckModuleName(name); err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("CheckModuleName(%q) = %v, want ErrInvalid", name, err)
			}
		} else if len(name) == 0 || len(name) > 100 || strings.Trim(name, "abcdefghijklmnopqrstuvwxyz0123456789._-") != "" ||
			strings.ContainsAny(name[:1], "._-") {
			t.Fatalf("CheckModuleName accepted %q", name)
		}
		if err := CheckLabelName(name); err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("CheckLabelName(%q) = %v, want ErrInvalid", name, err)
			}
		} else if name == "" || len(name) > 250 || strings.ContainsFunc(name, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			t.Fatalf("CheckLabelName accepted %q", name)
		}
	})
}

// A long label name is cut in its message at a character boundary, not inside one.
func TestLongLabelNameMessage(t *testing.T) {
	err := CheckLabelName(strings.Repeat("€", 100))
	if err == nil || strings.Contains(err.Error(), `\x`) || !strings.Contains(err.Error(), "€€…") {
		t.Errorf("CheckLabelName(100 × €) = %v, want a message cut between characters", err)
	}
}
