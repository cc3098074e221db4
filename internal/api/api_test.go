package api_test

import (
	"context"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"buf.build/gen/go/bufbuild/registry/connectrpc/go/buf/registry/module/v1/modulev1connect"
	modulev1 "buf.build/gen/go/bufbuild/registry/protocolbuffers/go/buf/registry/module/v1"
	ownerv1 "buf.build/gen/go/bufbuild/registry/protocolbuffers/go/buf/registry/owner/v1"
	"connectrpc.com/connect"

	"github.com/lathe-registry/lathe/internal/api"
	"github.com/lathe-registry/lathe/internal/auth"
	"github.com/lathe-registry/lathe/internal/blob"
	"github.com/lathe-registry/lathe/internal/blob/fsblob"
	"github.com/lathe-registry/lathe/internal/limit"
	"github.com/lathe-registry/lathe/internal/registry"
	"github.com/lathe-registry/lathe/internal/store"
	"github.com/lathe-registry/lathe/internal/store/sqlitestore"
)

type fixture struct {
	url      string
	token    string
	blobDir  string
	modules  modulev1connect.ModuleServiceClient
	uploads  modulev1connect.UploadServiceClient
	commits  modulev1connect.CommitServiceClient
	baseID   string // a commit of alice/base
	baseFile string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureWith(t, fixtureConfig{})
}

// fixtureConfig lets a test wrap the stores and see the server's log.
type fixtureConfig struct {
	wrapStore func(store.Store) store.Store
	wrapBlobs func(blob.Store) blob.Store
	log       io.Writer
	expensive *limit.Limiter
}

func newFixtureWith(t *testing.T, cfg fixtureConfig) *fixture {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlitestore.Open(filepath.Join(dir, "lathe.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	blobDir := filepath.Join(dir, "blobs")
	blobs, err := fsblob.Open(blobDir)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	if cfg.log != nil {
		logger = slog.New(slog.NewJSONHandler(cfg.log, nil))
	}
	ctx := context.Background()
	token, hash, err := auth.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	err = st.Update(ctx, func(tx store.Tx) error {
		u, err := tx.CreateOwner(ctx, store.Owner{ID: registry.NewID(), Name: "alice", Kind: store.OwnerUser})
		if err != nil {
			return err
		}
		return tx.CreateToken(ctx, u.ID, hash)
	})
	if err != nil {
		t.Fatal(err)
	}
	var metadata store.Store = st
	if cfg.wrapStore != nil {
		metadata = cfg.wrapStore(st)
	}
	var content blob.Store = blobs
	if cfg.wrapBlobs != nil {
		content = cfg.wrapBlobs(blobs)
	}
	reg := registry.New(metadata, content, registry.WithLogger(logger))
	srv := httptest.NewServer(api.Handler(reg, api.Config{MaxMessageBytes: 1 << 20, Logger: logger, Expensive: cfg.expensive}))
	t.Cleanup(srv.Close)
	f := &fixture{
		url:     srv.URL,
		token:   token,
		blobDir: blobDir,
		modules: modulev1connect.NewModuleServiceClient(srv.Client(), srv.URL),
		uploads: modulev1connect.NewUploadServiceClient(srv.Client(), srv.URL),
		commits: modulev1connect.NewCommitServiceClient(srv.Client(), srv.URL),
	}
	for _, name := range []string{"base", "app"} {
		req := authed(f, &modulev1.CreateModulesRequest{Values: []*modulev1.CreateModulesRequest_Value{{
			Name: name, Visibility: modulev1.ModuleVisibility_MODULE_VISIBILITY_PUBLIC,
		}}})
		req.Msg.Values[0].OwnerRef = ownerRef("alice")
		if _, err := f.modules.CreateModules(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	f.baseFile = "syntax = \"proto3\";\npackage base.v1;\nmessage Base {}\n"
	resp, err := f.uploads.Upload(ctx, authed(f, upload("base", map[string]string{"base/v1/base.proto": f.baseFile})))
	if err != nil {
		t.Fatal(err)
	}
	f.baseID = resp.Msg.GetCommits()[0].GetId()
	return f
}

func authed[T any](f *fixture, msg *T) *connect.Request[T] {
	req := connect.NewRequest(msg)
	req.Header().Set("Authorization", "Bearer "+f.token)
	return req
}

func upload(moduleName string, files map[string]string, deps ...string) *modulev1.UploadRequest {
	content := &modulev1.UploadRequest_Content{ModuleRef: &modulev1.ModuleRef{Value: &modulev1.ModuleRef_Name_{
		Name: &modulev1.ModuleRef_Name{Owner: "alice", Module: moduleName},
	}}}
	for p, c := range files {
		content.Files = append(content.Files, &modulev1.File{Path: p, Content: []byte(c)})
	}
	return &modulev1.UploadRequest{Contents: []*modulev1.UploadRequest_Content{content}, DepCommitIds: deps}
}

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestUploadRejects checks that every kind of bad upload gets a clear InvalidArgument (or
// NotFound) error naming the problem, and that nothing is stored: no commit, no label,
// no blob.
func TestUploadRejects(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	good := "syntax = \"proto3\";\npackage app.v1;\nimport \"base/v1/base.proto\";\nmessage App { base.v1.Base b = 1; }\n"
	tests := []struct {
		name string
		req  *modulev1.UploadRequest
		code connect.Code
		want string
	}{
		{"syntax error", upload("app", map[string]string{"app/v1/app.proto": "syntax = \"proto3\";\npackage app.v1;\nmessage App { strin x = 1 }\n"}),
			connect.CodeInvalidArgument, "app/v1/app.proto:3:"},
		{"unresolved import", upload("app", map[string]string{"app/v1/app.proto": good}),
			connect.CodeInvalidArgument, `app/v1/app.proto:3:8: could not resolve path "base/v1/base.proto"`},
		{"import cycle", upload("app", map[string]string{
			"app/v1/a.proto": "syntax = \"proto3\";\nimport \"app/v1/b.proto\";\n",
			"app/v1/b.proto": "syntax = \"proto3\";\nimport \"app/v1/a.proto\";\n",
		}), connect.CodeInvalidArgument, "cycle found in imports"},
		{"absolute path", upload("app", map[string]string{"/etc/app.proto": "syntax = \"proto3\";\n"}),
			connect.CodeInvalidArgument, "absolute path"},
		{"dotdot path", upload("app", map[string]string{"../../etc/app.proto": "syntax = \"proto3\";\n"}),
			connect.CodeInvalidArgument, "contains .."},
		{"not utf8", upload("app", map[string]string{"app/v1/app.proto": "syntax = \"proto3\";\n// \xc3\x28\n"}),
			connect.CodeInvalidArgument, "app/v1/app.proto:2: file is not valid UTF-8"},
		{"not a module file", upload("app", map[string]string{"app/v1/app.proto": "syntax = \"proto3\";\n", "Makefile": "all:\n"}),
			connect.CodeInvalidArgument, "Makefile: not a module file"},
		{"unknown dependency commit", upload("app", map[string]string{"app/v1/app.proto": good}, "0123456789abcdef0123456789abcdef"),
			connect.CodeNotFound, "dependency commit"},
		{"malformed dependency commit", upload("app", map[string]string{"app/v1/app.proto": good}, "../x"),
			connect.CodeInvalidArgument, "not a valid commit id"},
		{"file in two modules", upload("app", map[string]string{"base/v1/base.proto": f.baseFile}, f.baseID),
			connect.CodeInvalidArgument, "the file is in both alice/app and alice/base"},
		{"unknown module", upload("nope", map[string]string{"x.proto": "syntax = \"proto3\";\n"}),
			connect.CodeNotFound, "buf push --create"},
	}
	dup := upload("app", map[string]string{"app/v1/app.proto": "syntax = \"proto3\";\n"})
	dup.Contents[0].Files = append(dup.Contents[0].Files, dup.Contents[0].Files[0])
	tests = append(tests, struct {
		name string
		req  *modulev1.UploadRequest
		code connect.Code
		want string
	}{"duplicate path", dup, connect.CodeInvalidArgument, "duplicate path"})

	blobsBefore := countFiles(t, f.blobDir)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.uploads.Upload(ctx, authed(f, tt.req))
			if connect.CodeOf(err) != tt.code || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want code %v containing %q", err, tt.code, tt.want)
			}
			list, err := f.commits.ListCommits(ctx, authed(f, &modulev1.ListCommitsRequest{ResourceRef: resourceName("app")}))
			if err != nil {
				t.Fatal(err)
			}
			if n := len(list.Msg.GetCommits()); n != 0 {
				t.Fatalf("alice/app has %d commits after a rejected upload", n)
			}
			if n := countFiles(t, f.blobDir); n != blobsBefore {
				t.Fatalf("blob store has %d files after a rejected upload, want %d", n, blobsBefore)
			}
		})
	}
	// The same upload with the dependency succeeds, so the rejections above were about the input.
	if _, err := f.uploads.Upload(ctx, authed(f, upload("app", map[string]string{"app/v1/app.proto": good}, f.baseID))); err != nil {
		t.Fatal(err)
	}
}

func TestLimits(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	// Larger than the 1 MiB message limit of the fixture.
	big := upload("app", map[string]string{"app/v1/app.proto": "syntax = \"proto3\";\n//" + strings.Repeat("x", 2<<20) + "\n"})
	_, err := f.uploads.Upload(ctx, authed(f, big))
	if connect.CodeOf(err) != connect.CodeResourceExhausted {
		t.Fatalf("oversized upload: %v, want resource_exhausted", err)
	}
	// A gzip bomb: small on the wire, 2 MiB after decompression.
	client := modulev1connect.NewUploadServiceClient(http.DefaultClient, f.url, connect.WithSendGzip())
	_, err = client.Upload(ctx, authed(f, big))
	if connect.CodeOf(err) != connect.CodeResourceExhausted {
		t.Fatalf("compressed oversized upload: %v, want resource_exhausted", err)
	}
}

func TestAuth(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	req := connect.NewRequest(upload("app", map[string]string{"app/v1/app.proto": "syntax = \"proto3\";\n"}))
	if _, err := f.uploads.Upload(ctx, req); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Fatalf("anonymous upload: %v, want unauthenticated", err)
	}
	req.Header().Set("Authorization", "Bearer lathe_wrong")
	if _, err := f.uploads.Upload(ctx, req); connect.CodeOf(err) != connect.CodeUnauthenticated || !strings.Contains(err.Error(), "invalid token") {
		t.Fatalf("bad token: %v, want unauthenticated invalid token", err)
	}
}

func ownerRef(name string) *ownerv1.OwnerRef {
	return &ownerv1.OwnerRef{Value: &ownerv1.OwnerRef_Name{Name: name}}
}

func resourceName(moduleName string) *modulev1.ResourceRef {
	return &modulev1.ResourceRef{Value: &modulev1.ResourceRef_Name_{Name: &modulev1.ResourceRef_Name{Owner: "alice", Module: moduleName}}}
}

// TestAbsurdTimeouts sends timeouts no client means: they must neither crash the server
// nor make it misbehave; the call either runs normally or is refused with a clear error.
func TestAbsurdTimeouts(t *testing.T) {
	f := newFixture(t)
	body := `{"resourceRefs":[{"name":{"owner":"alice","module":"base"}}]}`
	for _, h := range [][2]string{
		{"Connect-Timeout-Ms", "99999999999999999999"},
		{"Connect-Timeout-Ms", "9999999999"},
		{"Connect-Timeout-Ms", "-5"},
		{"Connect-Timeout-Ms", "0"},
	} {
		req, err := http.NewRequest(http.MethodPost, f.url+"/buf.registry.module.v1.CommitService/GetCommits", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(h[0], h[1])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %s: %v", h[0], h[1], err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK && !strings.Contains(string(out), `"code"`) {
			t.Errorf("%s: %s: status %d without a Connect error: %s", h[0], h[1], resp.StatusCode, out)
		}
		t.Logf("%s: %s -> %d %s", h[0], h[1], resp.StatusCode, out[:min(len(out), 80)])
	}
	// The gRPC protocol's timeout header, with the largest value the grammar allows.
	for _, v := range []string{"99999999H", "18446744073709551615S", "1n"} {
		client := modulev1connect.NewCommitServiceClient(http.DefaultClient, f.url, connect.WithGRPCWeb())
		req := connect.NewRequest(&modulev1.GetCommitsRequest{ResourceRefs: []*modulev1.ResourceRef{resourceName("base")}})
		req.Header().Set("Grpc-Timeout", v)
		_, err := client.GetCommits(context.Background(), req)
		t.Logf("Grpc-Timeout: %s -> %v", v, err)
		if err != nil && connect.CodeOf(err) == connect.CodeUnknown {
			t.Errorf("Grpc-Timeout %s: %v", v, err)
		}
	}
	// The server still serves.
	if _, err := f.commits.GetCommits(context.Background(), connect.NewRequest(&modulev1.GetCommitsRequest{ResourceRefs: []*modulev1.ResourceRef{resourceName("base")}})); err != nil {
		t.Fatal(err)
	}
}
