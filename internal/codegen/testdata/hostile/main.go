// Command protoc-gen-hostile is a test plugin. With no parameter it behaves: it waits a
// little (so that concurrent calls overlap) and writes one file listing the files to
// generate. Its parameter selects misbehaviour: loop, alloc (4 GiB), fork (fork bomb),
// read=PATH, dial=HOST:PORT, write=PATH, abs, dotdot, huge (1 GiB of output), garbage,
// exit (status 3), error (an error response), nested (writes sub/go.mod, which cannot
// be in a Go module). Only the parameter's first comma-separated option counts, so
// options Lathe appends (import mappings) do not change the behaviour.
package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"time"

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
	resp := &pluginpb.CodeGeneratorResponse{}
	name, content := "hostile.txt", strings.Join(req.GetFileToGenerate(), "\n")+"\n"
	param, _, _ := strings.Cut(req.GetParameter(), ",")
	switch {
	case param == "":
		time.Sleep(300 * time.Millisecond)
	case param == "loop":
		for {
		}
	case param == "alloc":
		b := bytes.Repeat([]byte{1}, 4<<30)
		content = fmt.Sprint(len(b))
	case param == "fork":
		for {
			exec.Command("/proc/self/exe").Start()
		}
	case strings.HasPrefix(param, "read="):
		data, err := os.ReadFile(strings.TrimPrefix(param, "read="))
		if err != nil {
			fmt.Fprintln(os.Stderr, "read:", err)
			os.Exit(1)
		}
		content = string(data)
	case strings.HasPrefix(param, "dial="):
		c, err := net.DialTimeout("tcp", strings.TrimPrefix(param, "dial="), 2*time.Second)
		if err != nil {
			fmt.Fprintln(os.Stderr, "dial:", err)
			os.Exit(1)
		}
		c.Close()
	case strings.HasPrefix(param, "write="):
		if err := os.WriteFile(strings.TrimPrefix(param, "write="), []byte("pwned"), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "write:", err)
			os.Exit(1)
		}
	case param == "abs":
		name = "/etc/cron.d/hostile"
	case param == "nested":
		name = "sub/go.mod"
	case param == "dotdot":
		name = "../../hostile.txt"
	case param == "huge":
		chunk := bytes.Repeat([]byte("x"), 1<<20)
		for range 1024 {
			os.Stdout.Write(chunk)
		}
		return
	case param == "garbage":
		os.Stdout.Write([]byte("this is not a CodeGeneratorResponse \xff\xff\xff\xff"))
		return
	case param == "exit":
		fmt.Fprintln(os.Stderr, "hostile: giving up")
		os.Exit(3)
	case param == "error":
		resp.Error = proto.String("hostile: the input is not to my taste")
	}
	if resp.Error == nil {
		resp.File = []*pluginpb.CodeGeneratorResponse_File{{Name: proto.String(name), Content: proto.String(content)}}
	}
	out, err := proto.Marshal(resp)
	if err != nil {
		panic(err)
	}
	os.Stdout.Write(out)
}
