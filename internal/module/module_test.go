package module

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCheckFiles(t *testing.T) {
	ok := File{Path: "a/v1/a.proto", Content: []byte("syntax = \"proto3\";\n")}
	small := Limits{MaxFiles: 3, MaxFileBytes: 64, MaxModuleBytes: 100, MaxFileTokens: 8, MaxNesting: 3, MaxUploadTokens: 12}
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
		{"tokens", []File{{Path: "x.proto", Content: []byte("message A {\n // c\n int32 a = 1; }")}}, "x.proto:3:13: the file has more than 8 tokens"},
		{"nesting", []File{{Path: "x.proto", Content: []byte("a{b{\nc{d{")}}, "x.proto:2:4: nesting is deeper than 3 levels"},
		{"bomb", []File{{Path: "x.proto", Content: []byte(strings.Repeat("{", 60))}}, "x.proto:1:4: nesting is deeper than 3 levels"},
		{"module tokens", []File{{Path: "x.proto", Content: []byte("a b c d e f g")}, {Path: "y.proto", Content: []byte("a b c d e f g")}}, "the module's .proto files have more than 12 tokens"},
		{"tokens outside protos", []File{ok, {Path: "README.md", Content: []byte("{{{{ a b c d e f g h i j")}}, ""},
		{"well-known type", []File{ok, {Path: "google/protobuf/any.proto"}}, "google/protobuf/any.proto: the file is a well-known type"},
		{"well-known plugin.proto", []File{ok, {Path: "google/protobuf/compiler/plugin.proto"}}, "well-known type"},
		{"other google/protobuf file", []File{{Path: "google/protobuf/mine.proto"}}, ""},
		{"case collision", []File{{Path: "a/Case.proto"}, {Path: "a/case.proto"}}, "a/case.proto: the path differs from a/Case.proto only in case"},
		{"directory case collision", []File{{Path: "A/x.proto"}, {Path: "a/y.proto"}, {Path: "a/X.proto"}}, "a/X.proto: the path differs from A/x.proto only in case"},
		{"directory case collision, different files", []File{{Path: "pub/V1/a.proto"}, {Path: "pub/v1/b.proto"}}, "pub/v1/b.proto: its directory pub/v1 differs from pub/V1 (of pub/V1/a.proto) only in case"},
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
			_, err := Compile(context.Background(), []string{tt.target}, lookup, NewParseCache(1<<20), DefaultLimits, false)
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

func TestScanSource(t *testing.T) {
	tests := []struct {
		src           string
		tokens, depth int
	}{
		{"", 0, 0},
		{"syntax = \"proto3\";", 4, 0},
		{"message A { int32 a = 1; }", 9, 1},
		{"a.b.c", 5, 0},
		{"x = 1.5e-3 .5 0x1F;", 6, 0},
		{"// {{{\n/* {{{ */ \"{{{\" '{\\'{'", 4, 0},
		{"/*/ {{ */ a", 2, 0},
		{"/* unterminated {", 1, 0},
		{"\"unterminated {\n{", 2, 1},
		{"map<string, int32> m = 1;", 10, 1},
		{"option (a) = { b: [ { c: 1 } ] };", 17, 3},
		{"} } { ( [", 5, 3},
		{"\u00e9t\u00e9 \u00e9", 2, 0},
	}
	for _, tt := range tests {
		shape, stop := scanSource([]byte(tt.src), 1000, 1000)
		if stop != nil || shape.tokens != tt.tokens || shape.depth != tt.depth {
			t.Errorf("scanSource(%q) = %d tokens, depth %d, stop %v; want %d, %d", tt.src, shape.tokens, shape.depth, stop, tt.tokens, tt.depth)
		}
	}
}

// TestCompileLimits checks that Compile applies the limits to its targets before it
// parses them: a bomb of a million unclosed messages is rejected at once.
func TestCompileLimits(t *testing.T) {
	files := map[string][]byte{
		"bomb.proto": bytes.Repeat([]byte("message A { "), 1_000_000),
		"a.proto":    []byte("syntax = \"proto3\";\nmessage A { int32 a = 1; }\n"),
		"b.proto":    []byte("syntax = \"proto3\";\nmessage B { int32 b = 1; }\n"),
		"long.proto": []byte("syntax = \"proto3\";\nmessage L { " + strings.Repeat("x", 1<<20) + " a = 1; }\n"),
	}
	lookup := func(p string) ([]byte, bool) {
		c, ok := files[p]
		return c, ok
	}
	tests := []struct {
		name    string
		targets []string
		lim     Limits
		want    string
	}{
		{"bomb", []string{"bomb.proto"}, DefaultLimits, "bomb.proto:1:779: nesting is deeper than 64 levels"},
		{"file tokens", []string{"a.proto"}, Limits{MaxFileTokens: 10, MaxNesting: 64, MaxUploadTokens: 100}, "a.proto:2:23: the file has more than 10 tokens"},
		{"upload tokens", []string{"a.proto", "b.proto"}, Limits{MaxFileTokens: 100, MaxNesting: 64, MaxUploadTokens: 20}, "the .proto files compiled together have more than 20 tokens"},
		{"long name", []string{"long.proto"}, DefaultLimits, "long.proto:2:13: field L.a: unknown type xxxx"},
		{"within", []string{"a.proto", "b.proto"}, Limits{MaxFileTokens: 100, MaxNesting: 64, MaxUploadTokens: 26, Budget: NewCompileBudget(1)}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile(context.Background(), tt.targets, lookup, nil, tt.lim, false)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var inputErr *InputError
			if !errors.As(err, &inputErr) || err.Error() != inputErr.Error() || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("error = %v, want an InputError starting %q", err, tt.want)
			}
			if len(err.Error()) > 1200 {
				t.Fatalf("error is %d bytes long, more than the 1 KiB a message may quote", len(err.Error()))
			}
		})
	}
}

// TestCompileBudget checks that a compilation waits for its share of the budget and that
// its context ends the wait.
func TestCompileBudget(t *testing.T) {
	files := map[string][]byte{"a.proto": []byte("syntax = \"proto3\";\nmessage A {}\n")}
	lookup := func(p string) ([]byte, bool) {
		c, ok := files[p]
		return c, ok
	}
	lim := DefaultLimits
	lim.Budget = NewCompileBudget(10)
	release, err := lim.Budget.acquire(context.Background(), 5)
	if err != nil {
		t.Fatal(err)
	}
	// a.proto has 8 tokens: 5 + 8 > 10, so the compilation waits until the context ends.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := Compile(ctx, []string{"a.proto"}, lookup, nil, lim, false); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Compile with the budget taken = %v, want %v", err, context.DeadlineExceeded)
	}
	release()
	if _, err := Compile(context.Background(), []string{"a.proto"}, lookup, nil, lim, false); err != nil {
		t.Fatalf("Compile with the budget free: %v", err)
	}
	// A compilation larger than the whole budget takes all of it rather than wait forever.
	lim.Budget = NewCompileBudget(3)
	if _, err := Compile(context.Background(), []string{"a.proto"}, lookup, nil, lim, false); err != nil {
		t.Fatalf("Compile larger than the budget: %v", err)
	}
}
