package module

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestCheckFiles(t *testing.T) {
	ok := File{Path: "a/v1/a.proto", Content: []byte("syntax = \"proto3\";\n")}
	small := Limits{MaxFiles: 3, MaxFileBytes: 64, MaxModuleBytes: 100}
	tests := []struct {
		name  string
		files []File
		want  string // substring of the error; "" for success
	}{
		{"valid", []File{ok, {Path: "LICENSE"}, {Path: "README.md"}}, ""},
		{"empty", nil, "no files"},
		{"no protos", []File{{Path: "LICENSE"}}, "no .proto files"},
		{"absolute", []File{{Path: "/etc/passwd.proto"}}, "absolute path"},
		{"dotdot", []File{{Path: "a/../../x.proto"}}, "contains .."},
		{"dotdot alone", []File{{Path: "../x.proto"}}, "contains .."},
		{"unclean", []File{{Path: "a//b.proto"}}, "not clean"},
		{"dot", []File{{Path: "./b.proto"}}, "not clean"},
		{"backslash", []File{{Path: "a\\b.proto"}}, "backslash"},
		{"control", []File{{Path: "a\x00.proto"}}, "control characters"},
		{"duplicate", []File{ok, ok}, "duplicate path"},
		{"other kind", []File{ok, {Path: "buf.yaml"}}, "not a module file"},
		{"two docs", []File{ok, {Path: "README.md"}, {Path: "buf.md"}}, "one documentation file"},
		{"not utf8", []File{{Path: "x.proto", Content: []byte("syntax = \"proto3\";\n// \xff\n")}}, "x.proto:2: file is not valid UTF-8"},
		{"too many", []File{ok, {Path: "b.proto"}, {Path: "c.proto"}, {Path: "d.proto"}}, "more than the limit of 3"},
		{"too big", []File{{Path: "x.proto", Content: make([]byte, 65)}}, "65 bytes, more than the limit of 64"},
		{"module too big", []File{{Path: "x.proto", Content: make([]byte, 60)}, {Path: "y.proto", Content: make([]byte, 60)}}, "total more than the limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckFiles(tt.files, small)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var inputErr *InputError
			if !errors.As(err, &inputErr) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want an InputError containing %q", err, tt.want)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	files := map[string]string{
		"a.proto": "syntax = \"proto3\";\npackage a;\nimport \"b.proto\";\nmessage A { B b = 1; }\n",
		"b.proto": "syntax = \"proto3\";\npackage a;\nimport \"a.proto\";\nmessage B {}\n",
		"c.proto": "syntax = \"proto3\";\npackage c;\nimport \"missing/x.proto\";\nmessage C {}\n",
		"d.proto": "syntax = \"proto3\";\npackage d;\nmessage D { strin x = 1 }\n",
		"e.proto": "syntax = \"proto3\";\npackage e;\nimport \"google/protobuf/timestamp.proto\";\nmessage E { google.protobuf.Timestamp t = 1; }\n",
		"f.proto": "syntax = \"proto3\";\npackage e;\nmessage F { Nope n = 1; }\n",
	}
	lookup := func(p string) ([]byte, bool) {
		s, ok := files[p]
		return []byte(s), ok
	}
	tests := []struct{ target, want string }{
		{"a.proto", "cycle found in imports"},
		{"c.proto", `c.proto:3:8: could not resolve path "missing/x.proto": not found in this module or its dependencies`},
		{"d.proto", "d.proto:3:25: syntax error"},
		{"e.proto", ""},
		{"f.proto", `f.proto:3:13: field e.F.n: unknown type Nope`},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			_, err := Compile(context.Background(), []string{tt.target}, lookup, NewParseCache(1<<20), false)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var inputErr *InputError
			if !errors.As(err, &inputErr) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want an InputError containing %q", err, tt.want)
			}
		})
	}
}
