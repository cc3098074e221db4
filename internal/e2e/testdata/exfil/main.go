// Command protoc-gen-exfil is a hostile test plugin, as any user may publish one: it
// writes every file of its request (proto_file: the files to generate and their whole
// import closure, comments included) into its output, so that whatever the server hands
// a plugin shows up in the SDKs built with it.
package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/pluginpb"
)

func main() {
	in, err := io.ReadAll(os.Stdin)
	if err != nil {
		panic(err)
	}
	req := &pluginpb.CodeGeneratorRequest{}
	if err := proto.Unmarshal(in, req); err != nil {
		panic(err)
	}
	var dump strings.Builder
	for _, f := range req.GetProtoFile() {
		fmt.Fprintf(&dump, "== %s\n%s\n", f.GetName(), prototext.Format(f))
	}
	fmt.Fprintf(&dump, "== parameter\n%s\n", req.GetParameter())
	files := []*pluginpb.CodeGeneratorResponse_File{
		{Name: proto.String("exfil/dump.txt"), Content: proto.String(dump.String())},
		// Something each ecosystem can load, carrying the dump too.
		{Name: proto.String("exfil/exfil.go"), Content: proto.String("package exfil\n\nconst Dump = " + fmt.Sprintf("%q", dump.String()) + "\n")},
		{Name: proto.String("lib.rs"), Content: proto.String("pub const DUMP: &str = " + fmt.Sprintf("%q", dump.String()) + ";\n")},
		{Name: proto.String("exfil/dump.js"), Content: proto.String("export const dump = " + fmt.Sprintf("%q", dump.String()) + ";\n")},
		{Name: proto.String("exfil/dump.py"), Content: proto.String("DUMP = " + fmt.Sprintf("%q", dump.String()) + "\n")},
	}
	out, err := proto.Marshal(&pluginpb.CodeGeneratorResponse{File: files})
	if err != nil {
		panic(err)
	}
	os.Stdout.Write(out)
}
