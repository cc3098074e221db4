package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"buf.build/gen/go/bufbuild/registry/connectrpc/go/buf/registry/module/v1/modulev1connect"
	modulev1 "buf.build/gen/go/bufbuild/registry/protocolbuffers/go/buf/registry/module/v1"
	ownerv1 "buf.build/gen/go/bufbuild/registry/protocolbuffers/go/buf/registry/owner/v1"
	"connectrpc.com/connect"
)

// TestCrashDuringPushes kills lathe serve with SIGKILL while uploads are in flight, starts
// it again on the same data, and checks that every commit the server reports is whole:
// buf exports each one with an empty cache, which verifies the commit's b5 digest against
// the downloaded files and dependencies.
func TestCrashDuringPushes(t *testing.T) {
	work := t.TempDir()
	data := filepath.Join(work, "data")
	cmd, addr := startServe(t, data, io.Discard)
	token := createUser(t, data, "alice")
	url := "http://" + addr
	auth := func(r connect.AnyRequest) { r.Header().Set("Authorization", "Bearer "+token) }
	modules := modulev1connect.NewModuleServiceClient(http.DefaultClient, url)
	uploads := modulev1connect.NewUploadServiceClient(http.DefaultClient, url)
	ctx := context.Background()
	for _, name := range []string{"base", "app"} {
		req := connect.NewRequest(&modulev1.CreateModulesRequest{Values: []*modulev1.CreateModulesRequest_Value{{
			OwnerRef: &ownerv1.OwnerRef{Value: &ownerv1.OwnerRef_Name{Name: "alice"}}, Name: name,
			Visibility: modulev1.ModuleVisibility_MODULE_VISIBILITY_PUBLIC,
		}}})
		auth(req)
		if _, err := modules.CreateModules(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	upload := func(name string, files map[string]string, deps ...string) (string, error) {
		content := &modulev1.UploadRequest_Content{ModuleRef: &modulev1.ModuleRef{Value: &modulev1.ModuleRef_Name_{
			Name: &modulev1.ModuleRef_Name{Owner: "alice", Module: name}}}}
		for p, c := range files {
			content.Files = append(content.Files, &modulev1.File{Path: p, Content: []byte(c)})
		}
		req := connect.NewRequest(&modulev1.UploadRequest{Contents: []*modulev1.UploadRequest_Content{content}, DepCommitIds: deps})
		auth(req)
		resp, err := uploads.Upload(ctx, req)
		if err != nil {
			return "", err
		}
		return resp.Msg.GetCommits()[0].GetId(), nil
	}
	base, err := upload("base", map[string]string{"base/v1/base.proto": "syntax = \"proto3\";\npackage base.v1;\nmessage Base {}\n"})
	if err != nil {
		t.Fatal(err)
	}
	// Four writers push new commits of alice/app until the server dies.
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				files := map[string]string{}
				for f := range 20 {
					files[fmt.Sprintf("app/v1/f%d.proto", f)] = fmt.Sprintf(
						"syntax = \"proto3\";\npackage app.v1;\nimport \"base/v1/base.proto\";\nmessage M%d { base.v1.Base b = 1; } // %d-%d\n", f, w, i)
				}
				if _, err := upload("app", files, base); err != nil {
					return
				}
			}
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	wg.Wait()

	cmd, addr = startServe(t, data, io.Discard)
	defer stopServe(cmd)
	bufEnv := append(os.Environ(), "HOME="+work, "BUF_CONFIG_DIR="+filepath.Join(work, "bufconfig"))
	if err := os.MkdirAll(filepath.Join(work, "bufconfig"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "bufconfig", "config.yaml"), []byte("version: v1\ntls:\n  use: false\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	buf := func(args ...string) string {
		c := exec.Command(filepath.Join(binDir, "buf"+exe), args...)
		c.Env = append(bufEnv, "BUF_CACHE_DIR="+filepath.Join(work, "cache", fmt.Sprint(time.Now().UnixNano())))
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("buf %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	list := buf("registry", "module", "commit", "list", addr+"/alice/app", "--page-size", "250")
	var commits []string
	for _, line := range strings.Split(list, "\n") {
		// Lines are remote/owner/module:commit.
		if i := strings.LastIndexByte(line, ':'); i >= 0 && len(line)-i-1 == 32 {
			commits = append(commits, line[i+1:])
		}
	}
	if len(commits) < 2 {
		t.Fatalf("only %d commits were pushed before the crash:\n%s", len(commits), list)
	}
	for _, c := range commits {
		out := filepath.Join(work, "out", c)
		buf("export", addr+"/alice/app:"+c, "-o", out)
		if _, err := os.Stat(filepath.Join(out, "app/v1/f19.proto")); err != nil {
			t.Fatalf("commit %s: %v", c, err)
		}
	}
	buf("export", addr+"/alice/app", "-o", filepath.Join(work, "out", "main"))
	t.Logf("%d commits survived the crash whole", len(commits))
}
