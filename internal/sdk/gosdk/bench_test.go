package gosdk

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"testing"

	"github.com/lathe-registry/lathe/internal/registry"
	"github.com/lathe-registry/lathe/internal/store"
)

// BenchmarkList measures @v/list and .info of the oldest commit for modules with 10 and
// 10,000 commits: resolving a version must not depend on the module's history.
//
// go test -run XXX -bench List ./internal/sdk/gosdk
func BenchmarkList(b *testing.B) {
	for _, commits := range []int{10, 10000} {
		b.Run(fmt.Sprintf("commits=%d", commits), func(b *testing.B) {
			ctx := context.Background()
			f := newFixture(b)
			m := f.module(b, "m", store.Public)
			var first store.Commit
			err := f.st.Update(ctx, func(tx store.Tx) error {
				for i := range commits {
					c, err := tx.CreateCommit(ctx, store.Commit{ID: registry.NewID(), ModuleID: m.ID, OwnerID: f.acme.ID, Digest: make([]byte, 64), Manifest: "x", CreatedByUserID: f.acme.ID})
					if err != nil {
						return err
					}
					if i == 0 {
						first = c
					}
					if _, err := tx.SetLabel(ctx, m.ID, "main", c.ID, f.acme.ID); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			runtime.GC() // the setup's garbage is not the benchmark's
			get := func(b *testing.B, path string) {
				rec := f.get(path)
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
				f.publish(b, m, make([]byte, 10<<10)) // a published 10 KB zip
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
