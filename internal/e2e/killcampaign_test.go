package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
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

// campaignState is what the server acknowledged during the campaign: commits with the
// files they were pushed with, and artifacts with the bytes first served for them.
type campaignState struct {
	mu        sync.Mutex
	commits   map[string]map[string]string // commit id → path → content
	artifacts map[string][]byte            // URL path → body
	labels    map[string]map[string]bool   // label → where it may point: last acknowledged, or moves tried since
}

// TestKillCampaign runs push / generate / publish cycles against a real server and kills
// it with SIGKILL at a random point of each, then starts it again on the same data. At
// the end every acknowledged commit must download with exactly the files it was pushed
// with, every artifact served must be served again byte for byte, every commit the server
// lists must be whole, and no temporary blob may be left behind.
func TestKillCampaign(t *testing.T) {
	if testing.Short() {
		t.Skip("the kill -9 campaign takes minutes")
	}
	readSources(t)
	const cycles = 100
	budget := 150 * time.Second
	start := time.Now()
	work := t.TempDir()
	data := filepath.Join(work, "data")
	env := []string{"LATHE_GO_UPSTREAM=off", "LATHE_WASM_CACHE=" + wasmCacheDir, "LATHE_LOG_LEVEL=warn"}
	cmd, addr := startServeEnv(t, data, io.Discard, env...)
	token := createUser(t, data, "alice")
	if out, err := exec.Command(filepath.Join(binDir, "lathe"+exe), "plugin", "push", "--data", data, "--config", filepath.Join(pluginDir, "protocolbuffers-go.yaml"),
		"--binary", filepath.Join(pluginDir, "protoc-gen-go")).CombinedOutput(); err != nil {
		t.Fatalf("lathe plugin push: %v\n%s", err, out)
	}
	client := &http.Client{Timeout: 20 * time.Second}
	ctx := context.Background()
	auth := func(r connect.AnyRequest) { r.Header().Set("Authorization", "Bearer "+token) }
	modules := modulev1connect.NewModuleServiceClient(client, "http://"+addr)
	req := connect.NewRequest(&modulev1.CreateModulesRequest{Values: []*modulev1.CreateModulesRequest_Value{{
		OwnerRef: &ownerv1.OwnerRef{Value: &ownerv1.OwnerRef_Name{Name: "alice"}}, Name: "app",
		Visibility: modulev1.ModuleVisibility_MODULE_VISIBILITY_PUBLIC,
	}}})
	auth(req)
	if _, err := modules.CreateModules(ctx, req); err != nil {
		t.Fatal(err)
	}
	st := &campaignState{commits: map[string]map[string]string{}, artifacts: map[string][]byte{}, labels: map[string]map[string]bool{}}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 16))
	seq := 0
	n := 0
	for ; n < cycles && time.Since(start) < budget; n++ {
		if n > 0 {
			cmd, addr = startServeEnv(t, data, io.Discard, env...)
		}
		// The worker pushes, generates and publishes until the server dies.
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				seq++
				if !campaignStep(ctx, client, addr, token, seq, st) {
					return
				}
			}
		}()
		time.Sleep(time.Duration(20+rng.IntN(600)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		<-done
	}
	elapsed := time.Since(start)
	cmd, addr = startServeEnv(t, data, io.Discard, env...)
	defer stopServe(cmd)

	// Every acknowledged commit, byte for byte.
	downloads := modulev1connect.NewDownloadServiceClient(client, "http://"+addr)
	download := func(id string) (map[string]string, error) {
		r := connect.NewRequest(&modulev1.DownloadRequest{Values: []*modulev1.DownloadRequest_Value{{
			ResourceRef: &modulev1.ResourceRef{Value: &modulev1.ResourceRef_Id{Id: id}}}}})
		auth(r)
		resp, err := downloads.Download(ctx, r)
		if err != nil {
			return nil, err
		}
		files := map[string]string{}
		for _, c := range resp.Msg.GetContents() {
			if c.GetCommit().GetId() != id {
				continue
			}
			for _, f := range c.GetFiles() {
				files[f.GetPath()] = string(f.GetContent())
			}
		}
		return files, nil
	}
	for id, want := range st.commits {
		got, err := download(id)
		if err != nil {
			t.Errorf("acknowledged commit %s: %v", id, err)
			continue
		}
		for p, c := range want {
			if got[p] != c {
				t.Errorf("acknowledged commit %s: %s differs after the kills", id, p)
			}
		}
		if len(got) != len(want) {
			t.Errorf("acknowledged commit %s: %d files, pushed with %d", id, len(got), len(want))
		}
	}
	// Every commit the server lists (some were stored but not acknowledged) is whole.
	commits := modulev1connect.NewCommitServiceClient(client, "http://"+addr)
	listed := 0
	for token := ""; ; {
		r := connect.NewRequest(&modulev1.ListCommitsRequest{PageSize: 250, PageToken: token,
			ResourceRef: &modulev1.ResourceRef{Value: &modulev1.ResourceRef_Name_{Name: &modulev1.ResourceRef_Name{Owner: "alice", Module: "app"}}}})
		resp, err := commits.ListCommits(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range resp.Msg.GetCommits() {
			listed++
			if files, err := download(c.GetId()); err != nil || len(files) == 0 {
				t.Errorf("listed commit %s is not whole: %v", c.GetId(), err)
			}
		}
		if token = resp.Msg.GetNextPageToken(); token == "" {
			break
		}
	}
	// Every artifact served before a kill is served again, identical.
	for path, want := range st.artifacts {
		resp, err := client.Get("http://" + addr + path)
		if err != nil {
			t.Errorf("GET %s: %v", path, err)
			continue
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !bytes.Equal(got, want) {
			t.Errorf("GET %s: %s, %d bytes; before the kill %d bytes", path, resp.Status, len(got), len(want))
		}
	}
	// A label points where it was last acknowledged, or where a later move, cut off by a
	// kill before its answer, put it.
	for label, want := range st.labels {
		body := fmt.Sprintf(`{"labelRefs":[{"name":{"owner":"alice","module":"app","label":%q}}]}`, label)
		r, err := client.Post("http://"+addr+"/buf.registry.module.v1.LabelService/GetLabels", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Labels []struct{ CommitID string } `json:"labels"`
		}
		json.NewDecoder(r.Body).Decode(&got)
		r.Body.Close()
		if len(got.Labels) != 1 {
			t.Errorf("label %s: gone after the kills", label)
			continue
		}
		if c := got.Labels[0].CommitID; !want[c] {
			t.Errorf("label %s: at %s, not where it was last moved (%v)", label, c, want)
		}
	}
	var orphans []string
	filepath.WalkDir(filepath.Join(data, "blobs", "tmp"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			orphans = append(orphans, p)
		}
		return nil
	})
	if len(orphans) > 0 {
		t.Errorf("%d temporary blobs left after the kills and a restart: %v", len(orphans), orphans)
	}
	t.Logf("kill campaign: %d cycles in %v, %d acknowledged commits (%d listed), %d artifacts checked",
		n, elapsed.Round(time.Millisecond), len(st.commits), listed, len(st.artifacts))
	if n < 20 {
		t.Errorf("only %d cycles ran within %v", n, budget)
	}
}

// campaignStep pushes a commit, generates its Go SDK and moves a label to it, recording
// what the server acknowledged. It reports false once the server is gone.
func campaignStep(ctx context.Context, client *http.Client, addr, token string, seq int, st *campaignState) bool {
	url := "http://" + addr
	files := map[string]string{}
	for f := range 1 + seq%5 {
		files[fmt.Sprintf("app/v1/f%d.proto", f)] = fmt.Sprintf("syntax = \"proto3\";\npackage app.v1;\nmessage M%d { string s = 1; } // %d\n", f, seq)
	}
	content := &modulev1.UploadRequest_Content{ModuleRef: &modulev1.ModuleRef{Value: &modulev1.ModuleRef_Name_{
		Name: &modulev1.ModuleRef_Name{Owner: "alice", Module: "app"}}}}
	for p, c := range files {
		content.Files = append(content.Files, &modulev1.File{Path: p, Content: []byte(c)})
	}
	up := connect.NewRequest(&modulev1.UploadRequest{Contents: []*modulev1.UploadRequest_Content{content}})
	up.Header().Set("Authorization", "Bearer "+token)
	resp, err := modulev1connect.NewUploadServiceClient(client, url).Upload(ctx, up)
	if err != nil {
		return false
	}
	id := resp.Msg.GetCommits()[0].GetId()
	st.mu.Lock()
	st.commits[id] = files
	st.mu.Unlock()

	// Generate: the Go SDK of the commit, .mod and .zip.
	mod := "/gen/go/127.0.0.1/gen/go/alice/app/protocolbuffers/go/@v/"
	get := func(path string) ([]byte, bool) {
		r, err := client.Get(url + path)
		if err != nil {
			return nil, false
		}
		defer r.Body.Close()
		body, err := io.ReadAll(r.Body)
		return body, err == nil && r.StatusCode == http.StatusOK
	}
	info, ok := get(mod + id + ".info")
	if !ok {
		return false
	}
	var v struct{ Version string }
	if json.Unmarshal(info, &v) != nil || v.Version == "" {
		return false
	}
	for _, suffix := range []string{".mod", ".zip"} {
		body, ok := get(mod + v.Version + suffix)
		if !ok {
			return false
		}
		st.mu.Lock()
		st.artifacts[mod+v.Version+suffix] = body
		st.mu.Unlock()
	}

	// Publish: move a label to the commit.
	label := fmt.Sprintf("rel-%d", seq%3)
	st.mu.Lock()
	if st.labels[label] == nil {
		st.labels[label] = map[string]bool{}
	}
	st.labels[label][id] = true
	st.mu.Unlock()
	body := fmt.Sprintf(`{"values":[{"labelRef":{"name":{"owner":"alice","module":"app","label":%q}},"commitId":%q}]}`, label, id)
	lr, err := http.NewRequest(http.MethodPost, url+"/buf.registry.module.v1.LabelService/CreateOrUpdateLabels", strings.NewReader(body))
	if err != nil {
		return false
	}
	lr.Header.Set("Content-Type", "application/json")
	lr.Header.Set("Authorization", "Bearer "+token)
	r, err := client.Do(lr)
	if err != nil {
		return false
	}
	r.Body.Close()
	if r.StatusCode != http.StatusOK {
		return false
	}
	st.mu.Lock()
	st.labels[label] = map[string]bool{id: true}
	st.mu.Unlock()
	return true
}
