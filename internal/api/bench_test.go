package api_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"buf.build/gen/go/bufbuild/registry/connectrpc/go/buf/registry/module/v1/modulev1connect"
	modulev1 "buf.build/gen/go/bufbuild/registry/protocolbuffers/go/buf/registry/module/v1"
	"connectrpc.com/connect"

	"github.com/lathe-registry/lathe/internal/api"
	"github.com/lathe-registry/lathe/internal/blob"
	"github.com/lathe-registry/lathe/internal/blob/fsblob"
	"github.com/lathe-registry/lathe/internal/module"
	"github.com/lathe-registry/lathe/internal/registry"
	"github.com/lathe-registry/lathe/internal/store"
	"github.com/lathe-registry/lathe/internal/store/sqlitestore"
)

// BenchmarkReadLatency measures GetCommits, GetGraph and Download over HTTP against a
// module with 10 and with 10,000 commits (the newest depending on a base module), and
// reports p50 and p99 latencies. The target is at most 1.5x growth from 10 to 10,000.
func BenchmarkReadLatency(b *testing.B) {
	for _, n := range []int{10, 10000} {
		b.Run(fmt.Sprintf("commits=%d", n), func(b *testing.B) {
			url, head := benchServer(b, n)
			commits := modulev1connect.NewCommitServiceClient(http.DefaultClient, url)
			graphs := modulev1connect.NewGraphServiceClient(http.DefaultClient, url)
			downloads := modulev1connect.NewDownloadServiceClient(http.DefaultClient, url)
			byLabel := &modulev1.ResourceRef{Value: &modulev1.ResourceRef_Name_{Name: &modulev1.ResourceRef_Name{Owner: "alice", Module: "app"}}}
			byID := &modulev1.ResourceRef{Value: &modulev1.ResourceRef_Id{Id: head}}
			ctx := context.Background()
			calls := map[string]func() error{
				"GetCommits": func() error {
					_, err := commits.GetCommits(ctx, connect.NewRequest(&modulev1.GetCommitsRequest{ResourceRefs: []*modulev1.ResourceRef{byLabel}}))
					return err
				},
				"GetGraph": func() error {
					_, err := graphs.GetGraph(ctx, connect.NewRequest(&modulev1.GetGraphRequest{ResourceRefs: []*modulev1.ResourceRef{byID}}))
					return err
				},
				"Download": func() error {
					_, err := downloads.Download(ctx, connect.NewRequest(&modulev1.DownloadRequest{Values: []*modulev1.DownloadRequest_Value{{ResourceRef: byID}}}))
					return err
				},
			}
			for _, name := range []string{"GetCommits", "GetGraph", "Download"} {
				call := calls[name]
				b.Run(name, func(b *testing.B) {
					lat := make([]time.Duration, 0, b.N)
					for b.Loop() {
						start := time.Now()
						if err := call(); err != nil {
							b.Fatal(err)
						}
						lat = append(lat, time.Since(start))
					}
					slices.Sort(lat)
					b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
					b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
				})
			}
		})
	}
}

// benchServer serves a registry whose module alice/app has n commits; the newest is on
// main and depends on a commit of alice/base. Commits are written straight to the store:
// pushing 10,000 of them through Upload would only measure the setup.
func benchServer(b *testing.B, n int) (url, head string) {
	b.Helper()
	dir := b.TempDir()
	st, err := sqlitestore.Open(filepath.Join(dir, "lathe.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	blobs, err := fsblob.Open(filepath.Join(dir, "blobs"))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	files := []module.File{{Path: "app/v1/app.proto", Content: []byte("syntax = \"proto3\";\npackage app.v1;\nmessage App {}\n")}}
	manifest, _ := module.Manifest(files)
	for _, content := range [][]byte{manifest, files[0].Content} {
		if _, err := blob.PutBytes(ctx, blobs, content); err != nil {
			b.Fatal(err)
		}
	}
	err = st.Update(ctx, func(tx store.Tx) error {
		u, err := tx.CreateOwner(ctx, store.Owner{ID: registry.NewID(), Name: "alice", Kind: store.OwnerUser})
		if err != nil {
			return err
		}
		newModule := func(name string) (store.Module, error) {
			return tx.CreateModule(ctx, store.Module{ID: registry.NewID(), OwnerID: u.ID, Name: name,
				Visibility: store.Public, State: store.Active, DefaultLabelName: "main"})
		}
		base, err := newModule("base")
		if err != nil {
			return err
		}
		baseCommit, err := tx.CreateCommit(ctx, store.Commit{ID: registry.NewID(), ModuleID: base.ID, OwnerID: u.ID,
			CreateTime: time.Now(), Digest: module.B5(manifest, nil), Manifest: module.ManifestKey(manifest)})
		if err != nil {
			return err
		}
		app, err := newModule("app")
		if err != nil {
			return err
		}
		for i := range n {
			c, err := tx.CreateCommit(ctx, store.Commit{ID: registry.NewID(), ModuleID: app.ID, OwnerID: u.ID,
				CreateTime: time.Now(), Digest: module.B5(manifest, [][]byte{baseCommit.Digest}),
				Manifest: module.ManifestKey(manifest), DirectDeps: []string{baseCommit.ID}})
			if err != nil {
				return err
			}
			if _, err := tx.SetLabel(ctx, app.ID, "main", c.ID, u.ID); err != nil {
				return err
			}
			if i == n-1 {
				head = c.ID
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(api.Handler(registry.New(st, blobs), api.Config{MaxMessageBytes: 32 << 20, Logger: slog.New(slog.DiscardHandler)}))
	b.Cleanup(srv.Close)
	// Collect the setup's garbage now, so that the timed calls do not pay for it.
	runtime.GC()
	return srv.URL, head
}
