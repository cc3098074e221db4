// Package modtest generates large, realistic modules for benchmarks.
package modtest

import (
	"fmt"
	"strings"
)

// Generate returns a module of pkgs packages with files .proto files each, keyed by path.
// Every file imports the previous file of its package and the first file of the previous
// package, and holds a service and eight documented messages: about 4 KB a file, 2 MB for 500 files.
func Generate(pkgs, files int) map[string][]byte {
	out := make(map[string][]byte, pkgs*files)
	for p := range pkgs {
		for f := range files {
			var sb strings.Builder
			fmt.Fprintf(&sb, "syntax = \"proto3\";\n\npackage pkg%d.v1;\n\n", p)
			if f > 0 {
				fmt.Fprintf(&sb, "import \"pkg%d/v1/file%d.proto\";\n", p, f-1)
			}
			if p > 0 {
				fmt.Fprintf(&sb, "import \"pkg%d/v1/file0.proto\";\n", p-1)
			}
			sb.WriteString("import \"google/protobuf/timestamp.proto\";\n\n")
			for m := range 8 {
				fmt.Fprintf(&sb, "// Message%d_%d describes one thing of file %d in package %d. It carries\n// enough fields and comments to look like a real schema.\nmessage Message%d_%d {\n", f, m, f, p, f, m)
				sb.WriteString("  // The id of the thing.\n  string id = 1;\n  // When it was created.\n  google.protobuf.Timestamp create_time = 2;\n  repeated string tags = 3;\n  map<string, int64> counters = 4;\n")
				if f > 0 {
					fmt.Fprintf(&sb, "  Message%d_%d previous = 5;\n", f-1, m)
				}
				if p > 0 {
					fmt.Fprintf(&sb, "  pkg%d.v1.Message0_%d upstream = 6;\n", p-1, m)
				}
				sb.WriteString("  enum State {\n    STATE_UNSPECIFIED = 0;\n    STATE_ACTIVE = 1;\n    STATE_DONE = 2;\n  }\n  State state = 7;\n}\n\n")
			}
			fmt.Fprintf(&sb, "service Service%d {\n  rpc Get(Message%d_0) returns (Message%d_1);\n  rpc List(Message%d_2) returns (Message%d_3);\n}\n", f, f, f, f, f)
			out[fmt.Sprintf("pkg%d/v1/file%d.proto", p, f)] = []byte(sb.String())
		}
	}
	return out
}
