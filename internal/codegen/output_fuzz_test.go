package codegen

import (
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/pluginpb"
)

// Whatever a plugin answers, an accepted response only names files that stay inside the
// directory they are written to.
func FuzzCheckResponse(f *testing.F) {
	for _, names := range [][]string{
		{"a/b.go"}, {"../x"}, {"/etc/passwd"}, {"a/../b"}, {"C:x"}, {"a\\b"}, {"a\x00b"}, {"", "a"}, {"."}, {"a//b"},
	} {
		resp := &pluginpb.CodeGeneratorResponse{}
		for _, n := range names {
			resp.File = append(resp.File, &pluginpb.CodeGeneratorResponse_File{Name: proto.String(n), Content: proto.String("x")})
		}
		data, err := proto.Marshal(resp)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		resp := &pluginpb.CodeGeneratorResponse{}
		if proto.Unmarshal(data, resp) != nil {
			return
		}
		if checkResponse(resp, 1<<20) != nil {
			return
		}
		for _, file := range resp.GetFile() {
			name := file.GetName()
			if name == "" {
				continue
			}
			joined := filepath.Join("out", filepath.FromSlash(name))
			if !strings.HasPrefix(joined, "out"+string(filepath.Separator)) {
				t.Fatalf("accepted %q, which leaves the output directory as %q", name, joined)
			}
		}
	})
}
