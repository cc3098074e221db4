package module

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// benchModule returns a module of 500 files of about 4 KB, where every file imports the
// previous file of its package and the first file of the previous package.
func benchModule() map[string][]byte {
	files := make(map[string][]byte)
	for p := range 50 {
		for f := range 10 {
			var sb strings.Builder
			fmt.Fprintf(&sb, "syntax = \"proto3\";\n\npackage pkg%d.v1;\n\n", p)
			if f > 0 {
				fmt.Fprintf(&sb, "import \"pkg%d/v1/file%d.proto\";\n", p, f-1)
			}
			if p > 0 {
				fmt.Fprintf(&sb, "import \"pkg%d/v1/file0.proto\";\n", p-1)
			}
			sb.WriteString("import \"google/protobuf/timestamp.proto\";\n\n")
			for m := range 6 {
				fmt.Fprintf(&sb, "// Message%d_%d describes one thing.\nmessage Message%d_%d {\n  string id = 1;\n  google.protobuf.Timestamp create_time = 2;\n  repeated string tags = 3;\n  map<string, int64> counters = 4;\n", f, m, f, m)
				if f > 0 {
					fmt.Fprintf(&sb, "  Message%d_%d previous = 5;\n", f-1, m)
				}
				if p > 0 {
					fmt.Fprintf(&sb, "  pkg%d.v1.Message0_%d upstream = 6;\n", p-1, m)
				}
				sb.WriteString("  enum State {\n    STATE_UNSPECIFIED = 0;\n    STATE_ACTIVE = 1;\n  }\n  State state = 7;\n}\n\n")
			}
			files[fmt.Sprintf("pkg%d/v1/file%d.proto", p, f)] = []byte(sb.String())
		}
	}
	return files
}

func BenchmarkCompile500(b *testing.B) {
	files := benchModule()
	var targets []string
	for p := range files {
		targets = append(targets, p)
	}
	lookup := func(p string) ([]byte, bool) { c, ok := files[p]; return c, ok }
	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			if _, err := Compile(context.Background(), targets, lookup, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	// One file changes between compilations, as in a push of a new commit: the root of
	// the import graph, so every other file must be linked again.
	b.Run("one-changed", func(b *testing.B) {
		cache := NewParseCache(64 << 20)
		if _, err := Compile(context.Background(), targets, lookup, cache); err != nil {
			b.Fatal(err)
		}
		root := files["pkg0/v1/file0.proto"]
		i := 0
		for b.Loop() {
			i++
			files["pkg0/v1/file0.proto"] = fmt.Appendf(append([]byte(nil), root...), "// change %d\n", i)
			if _, err := Compile(context.Background(), targets, lookup, cache); err != nil {
				b.Fatal(err)
			}
		}
	})
}
