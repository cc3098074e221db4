package gosdk

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/lathe-registry/lathe/internal/blob"
	"github.com/lathe-registry/lathe/internal/blob/memblob"
	"github.com/lathe-registry/lathe/internal/registry"
	"github.com/lathe-registry/lathe/internal/sdk"
	"github.com/lathe-registry/lathe/internal/store"
	"github.com/lathe-registry/lathe/internal/store/sqlitestore"
)

const benchPluginConfig = `version: v1
name: buf.build/protocolbuffers/go
plugin_version: v1.36.11
registry:
  go:
    min_version: "1.23"
    deps:
      - module: google.golang.org/protobuf
        version: v1.36.11
  opts: [paths=source_relative]
`

// BenchmarkList measures @v/list and .info of the oldest commit for modules with 10 and
// 10,000 commits: resolving a version must not depend on the module's history.
//
// go test -run XXX -bench List ./internal/sdk/gosdk
func BenchmarkList(b *testing.B) {
	for _, commits := range []int{10, 10000} {
		b.Run(fmt.Sprintf("commits=%d", commits), func(b *testing.B) {
			ctx := context.Background()
			st, err := sqlitestore.Open(filepath.Join(b.TempDir(), "lathe.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			reg := registry.New(st, memblob.New())
			if _, err := reg.PushPlugin(ctx, registry.PluginParams{Owner: "protocolbuffers", Name: "go", Version: "v1.36.11",
				Config: []byte(benchPluginConfig), Runtime: "native", Program: []byte("#!/bin/false"), ProgramName: "protoc-gen-go"}); err != nil {
				b.Fatal(err)
			}
			var first store.Commit
			err = st.Update(ctx, func(tx store.Tx) error {
				o, err := tx.CreateOwner(ctx, store.Owner{ID: registry.NewID(), Name: "acme", Kind: store.OwnerUser})
				if err != nil {
					return err
				}
				m, err := tx.CreateModule(ctx, store.Module{ID: registry.NewID(), OwnerID: o.ID, Name: "m", Visibility: store.Public, State: store.Active, DefaultLabelName: "main"})
				if err != nil {
					return err
				}
				for i := range commits {
					c, err := tx.CreateCommit(ctx, store.Commit{ID: registry.NewID(), ModuleID: m.ID, OwnerID: o.ID, Digest: make([]byte, 64), Manifest: "x", CreatedByUserID: o.ID})
					if err != nil {
						return err
					}
					if i == 0 {
						first = c
					}
					if _, err := tx.SetLabel(ctx, m.ID, "main", c.ID, o.ID); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			runtime.GC() // the setup's garbage is not the benchmark's
			p := &Proxy{Packager: Packager{Paths: Paths{Host: "h.example"}, SDKs: sdk.New(reg, memblob.New(), nil)}, PublicURL: "http://h.example", Log: slog.New(slog.DiscardHandler)}
			get := func(b *testing.B, path string) {
				rec := httptest.NewRecorder()
				p.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
				if rec.Code != http.StatusOK {
					b.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
				}
				_, _ = io.Copy(io.Discard, rec.Body)
			}
			b.Run("list", func(b *testing.B) {
				for b.Loop() {
					get(b, "/gen/go/h.example/gen/go/acme/m/protocolbuffers/go/@v/list")
				}
			})
			b.Run("zip", func(b *testing.B) {
				// A published 10 KB zip.
				data := make([]byte, 10<<10)
				key, err := blob.PutBytes(ctx, p.SDKs.Blobs(), data)
				if err != nil {
					b.Fatal(err)
				}
				err = st.Update(ctx, func(tx store.Tx) error {
					_, err := tx.PutArtifact(ctx, store.Artifact{Ecosystem: Ecosystem, Name: "h.example/gen/go/acme/m/protocolbuffers/go", Version: "v1.0.0", ModuleID: first.ModuleID, Blob: key})
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
				for b.Loop() {
					get(b, "/gen/go/h.example/gen/go/acme/m/protocolbuffers/go/@v/v1.0.0.zip")
				}
			})
			b.Run("info-oldest", func(b *testing.B) {
				v := fmt.Sprintf("v1.36.11-%s-%s.1", first.CreateTime.UTC().Format("20060102150405"), first.ID[:12])
				for b.Loop() {
					get(b, "/gen/go/h.example/gen/go/acme/m/protocolbuffers/go/@v/"+v+".info")
				}
			})
		})
	}
}
