package module

import (
	"errors"
	"path"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzCheckPath checks that every path CheckPath accepts stays inside the module, and that
// every rejection is an InputError whose message can travel in a protobuf string.
func FuzzCheckPath(f *testing.F) {
	for _, p := range []string{
		"a/v1/a.proto", "LICENSE", "buf.md", ".", "..", "a/../b.proto", "/etc/passwd", "a//b.proto",
		"a/./b.proto", "a/b/", `a\b.proto`, "a\x00b.proto", "a\x7fb", "\xff.proto", "ä/ö.proto",
		strings.Repeat("é", 3000) + ".proto", "a" + strings.Repeat("é", 3000) + ".proto",
	} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		err := CheckPath(p)
		if err != nil {
			var inputErr *InputError
			if !errors.As(err, &inputErr) {
				t.Fatalf("CheckPath(%q) = %T, want *InputError", p, err)
			}
			if !utf8.ValidString(err.Error()) {
				t.Fatalf("CheckPath(%q): message is not valid UTF-8: %q", p, err.Error())
			}
			return
		}
		// "." passes as a path, though no file can be named so: CheckFiles rejects it by kind.
		joined := path.Join("root", p)
		if (joined != "root" && !strings.HasPrefix(joined, "root/")) || path.Clean(p) != p || !utf8.ValidString(p) ||
			strings.ContainsAny(p, "\\\x00") {
			t.Fatalf("CheckPath accepted %q (joined: %q)", p, joined)
		}
	})
}

// FuzzCheckFiles checks that CheckFiles never panics and rejects only with InputErrors,
// over a file set built from a path, a content and a second path.
func FuzzCheckFiles(f *testing.F) {
	f.Add("a/v1/a.proto", []byte("syntax = \"proto3\";\n"), "LICENSE")
	f.Add("a.proto", []byte("\xc3\x28"), "README.md")
	f.Add("a.proto", []byte{}, "a.proto")
	f.Add("buf.md", []byte("x\n\xff"), "README.md")
	lim := Limits{MaxFiles: 2, MaxFileBytes: 64, MaxModuleBytes: 100}
	f.Fuzz(func(t *testing.T, p string, content []byte, other string) {
		files := []File{{Path: p, Content: content}, {Path: other, Content: content}}
		err := CheckFiles(files, lim)
		if err == nil {
			if p == other || !utf8.Valid(content) || len(content) > lim.MaxFileBytes {
				t.Fatalf("CheckFiles accepted %q and %q with %q", p, other, content)
			}
			return
		}
		var inputErr *InputError
		if !errors.As(err, &inputErr) {
			t.Fatalf("CheckFiles = %T, want *InputError", err)
		}
		if !utf8.ValidString(err.Error()) {
			t.Fatalf("message is not valid UTF-8: %q", err.Error())
		}
	})
}
