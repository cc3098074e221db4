package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"buf.build/gen/go/bufbuild/registry/connectrpc/go/buf/registry/module/v1/modulev1connect"
	modulev1 "buf.build/gen/go/bufbuild/registry/protocolbuffers/go/buf/registry/module/v1"
	ownerv1 "buf.build/gen/go/bufbuild/registry/protocolbuffers/go/buf/registry/owner/v1"
	"connectrpc.com/connect"
)

// hostileUpload is a worst-case upload of close to the largest request the server takes
// (32 MiB by default: 8000 small files are about 15 MiB, as many as the token limits let through) and the error it must be rejected with.
type hostileUpload struct {
	name  string
	files map[string][]byte
	want  string // regular expression the error message must match
}

// hostileUploads are the shapes that made the parser's memory grow hundreds of times the
// source: nesting that never closes, tokens by the million, tokens of megabytes, and
// thousands of small files that all parse and link until the last one.
func hostileUploads() []hostileUpload {
	const fileBytes = 4<<20 - 64 // under --max-file-bytes
	const files = 7
	spread := func(one []byte) map[string][]byte {
		m := map[string][]byte{}
		for i := range files {
			m[fmt.Sprintf("h/f%d.proto", i)] = one
		}
		return m
	}
	fill := func(prefix, unit, suffix string) []byte {
		n := (fileBytes - len(prefix) - len(suffix)) / len(unit)
		return []byte(prefix + strings.Repeat(unit, n) + suffix)
	}
	const header = "syntax = \"proto3\";\npackage h;\n"
	many := map[string][]byte{}
	var fields strings.Builder
	for j := 1; j <= 10; j++ {
		fmt.Fprintf(&fields, "  int32 f%d = %d;\n", j, j)
	}
	comment := "// " + strings.Repeat("c", 1500) + "\n"
	for i := range 8000 {
		// Each file parses and links on its own, about 60 tokens and 1.9 KB; the last one
		// names a missing type.
		last := ""
		if i == 7999 {
			last = "  Missing z = 99;\n"
		}
		many[fmt.Sprintf("h/m%05d.proto", i)] = fmt.Appendf(nil, "%s%smessage M%d {\n%s%s}\n", header, comment, i, fields.String(), last)
	}
	return []hostileUpload{
		{"message bomb", spread(fill(header, "message A { ", "")), `^invalid_argument: module alice/mem\d: h/f\d\.proto:3:\d+: nesting is deeper than 64 levels`},
		{"deep option value", spread(fill(header+"import \"google/protobuf/descriptor.proto\";\noption (x) = ", "{a:", "")), `nesting is deeper than 64 levels`},
		{"million tokens", spread(fill(header, ";", "")), `h/f\d\.proto:3:\d+: the file has more than 524288 tokens`},
		{"huge token", spread(fill(header+"message A { ", "x", " a = 1; }")), `unknown type x+`},
		{"many small files", many, `h/m07999\.proto:\d+:\d+: field h\.M7999\.z: unknown type Missing`},
	}
}

// TestUploadMemory sends eight worst-case uploads at once, twice over, and checks that
// each is rejected with a clear error while the server's resident memory stays within
// 1 GiB of what it was idle.
func TestUploadMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("sends hundreds of MiB of uploads")
	}
	work := t.TempDir()
	data := work + "/data"
	// One caller may run 8 expensive calls here, so that all 8 uploads compile at once,
	// the worst case the memory budget must hold.
	cmd, addr := startServeEnv(t, data, io.Discard, "LATHE_MAX_EXPENSIVE_CALLS_PER_CALLER=8", "LATHE_MAX_EXPENSIVE_CALLS=8")
	defer stopServe(cmd)
	token := createUser(t, data, "alice")
	url := "http://" + addr
	auth := func(r connect.AnyRequest) { r.Header().Set("Authorization", "Bearer "+token) }
	modules := modulev1connect.NewModuleServiceClient(http.DefaultClient, url)
	uploads := modulev1connect.NewUploadServiceClient(http.DefaultClient, url, connect.WithReadMaxBytes(64<<20), connect.WithSendMaxBytes(64<<20))
	ctx := context.Background()
	const parallel = 8
	for i := range parallel {
		req := connect.NewRequest(&modulev1.CreateModulesRequest{Values: []*modulev1.CreateModulesRequest_Value{{
			OwnerRef: &ownerv1.OwnerRef{Value: &ownerv1.OwnerRef_Name{Name: "alice"}}, Name: fmt.Sprintf("mem%d", i),
		}}})
		auth(req)
		if _, err := modules.CreateModules(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	upload := func(i int, files map[string][]byte) error {
		content := &modulev1.UploadRequest_Content{ModuleRef: &modulev1.ModuleRef{Value: &modulev1.ModuleRef_Name_{
			Name: &modulev1.ModuleRef_Name{Owner: "alice", Module: fmt.Sprintf("mem%d", i)}}}}
		for p, c := range files {
			content.Files = append(content.Files, &modulev1.File{Path: p, Content: c})
		}
		req := connect.NewRequest(&modulev1.UploadRequest{Contents: []*modulev1.UploadRequest_Content{content}})
		auth(req)
		_, err := uploads.Upload(ctx, req)
		return err
	}
	ok := map[string][]byte{"ok/v1/ok.proto": []byte("syntax = \"proto3\";\npackage ok.v1;\nmessage Ok {}\n")}
	if err := upload(0, ok); err != nil {
		t.Fatalf("a valid upload before: %v", err)
	}
	idle := procStatus(t, cmd.Process.Pid, "VmRSS")
	for _, h := range hostileUploads() {
		t.Run(h.name, func(t *testing.T) {
			want := regexp.MustCompile(h.want)
			start := time.Now()
			var wg sync.WaitGroup
			for i := range parallel {
				wg.Go(func() {
					err := upload(i, h.files)
					if connect.CodeOf(err) != connect.CodeInvalidArgument || !want.MatchString(connectMessage(err)) {
						t.Errorf("upload %d: %v, want invalid_argument matching %q", i, err, h.want)
					}
				})
			}
			wg.Wait()
			t.Logf("8 uploads rejected in %v; peak RSS so far %d MiB above idle", time.Since(start).Round(time.Millisecond),
				(procStatus(t, cmd.Process.Pid, "VmHWM")-idle)>>20)
		})
	}
	peak := procStatus(t, cmd.Process.Pid, "VmHWM")
	t.Logf("idle RSS %d MiB, peak %d MiB: %d MiB above idle", idle>>20, peak>>20, (peak-idle)>>20)
	if peak-idle >= 1<<30 {
		t.Errorf("peak RSS is %d MiB above idle, more than 1 GiB", (peak-idle)>>20)
	}
	if err := upload(0, ok); err != nil {
		t.Fatalf("a valid upload after: %v", err)
	}
}

func connectMessage(err error) string {
	if ce := new(connect.Error); errors.As(err, &ce) {
		return ce.Code().String() + ": " + ce.Message()
	}
	return ""
}

// procStatus returns a memory field of /proc/PID/status in bytes.
func procStatus(t *testing.T, pid int, field string) int64 {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc to measure memory with: %v", err)
	}
	m := regexp.MustCompile(`(?m)^` + field + `:\s+(\d+) kB$`).FindSubmatch(status)
	if m == nil {
		t.Fatalf("no %s in /proc/%d/status", field, pid)
	}
	kb, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return kb << 10
}
