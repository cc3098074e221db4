package registry

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// FuzzNames checks module and label names against the rules their errors state, and that
// every rejection is an ErrInvalid.
func FuzzNames(f *testing.F) {
	for _, s := range []string{"app", "a.b-c_d", "release/2024-01", "..", "../../etc/passwd", "a:b", "a//b", "App", "-app", "", "v1.0.0", "main", "a b", "a\tb", "a\x7f", "ä",
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
		} else if name == "" || len(name) > 250 || strings.ContainsFunc(name, func(r rune) bool { return r <= ' ' || r == 0x7f }) ||
			strings.ContainsAny(name, `:\`) || slices.ContainsFunc(strings.Split(name, "/"), func(p string) bool { return p == "" || p == "." || p == ".." }) {
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

func TestCheckLabelName(t *testing.T) {
	for _, c := range []struct {
		name string
		ok   bool
	}{
		{"main", true},
		{"v1.2.3", true},
		{"release/2024-01", true},
		{"feature/a.b/c_d-e", true},
		{"v1.0.0+build.1", true},
		{"refs@x", true},
		{"ünïcode", true},
		{"a..b", true},
		{".hidden", true},
		{strings.Repeat("l", 250), true},
		{"", false},
		{"0123456789abcdef0123456789abcdef", false},
		{"01234567-89ab-cdef-0123-456789abcdef", false},
		{"0123456789abcdef", true},
		{strings.Repeat("l", 251), false},
		{"..", false},
		{".", false},
		{"../../etc/passwd", false},
		{"a/../b", false},
		{"a/./b", false},
		{"a/..", false},
		{"/main", false},
		{"main/", false},
		{"a//b", false},
		{`..\..\x`, false},
		{"a:b", false},
		{"a b", false},
		{"a\u00a0b", false},
		{"a\tb", false},
		{"a\x00b", false},
		{"a\x7f", false},
		{"a\u200e", true}, // a format character, not a space: the BSR allows it too
		{"\xff", false},
	} {
		err := CheckLabelName(c.name)
		if (err == nil) != c.ok {
			t.Errorf("CheckLabelName(%q) = %v, want ok %v", c.name, err, c.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("CheckLabelName(%q) = %v, want ErrInvalid", c.name, err)
		}
	}
}
