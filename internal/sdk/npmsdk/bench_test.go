package npmsdk

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"testing"

	"github.com/lathe-registry/lathe/internal/blob"
	"github.com/lathe-registry/lathe/internal/registry"
	"github.com/lathe-registry/lathe/internal/sdk"
	"github.com/lathe-registry/lathe/internal/store"
)

// BenchmarkPackument measures the size and latency of the full and abbreviated
// packuments of a package with 2,000 published versions (one per commit of the default
// label, each depending on @bufbuild/protobuf and on another package of the registry, as
// shop's do on money's), plain and gzipped:
//
//   - full, abbreviated: the common case, nothing published since the last request;
//   - *-gzip: the same with Accept-Encoding: gzip, as npm sends it;
//   - cold-full: the first request after a restart, reading and rendering every version.
//
// go test -run XXX -bench Packument ./internal/sdk/npmsdk
func BenchmarkPackument(b *testing.B) {
	const versions = 2000
	ctx := context.Background()
	f := newFixture(b)
	m := f.module(b, "shop", store.Public)
	sdkOf := sdk.SDK{Owner: "alice", Module: "shop", Gen: sdk.Generator{Owner: "bufbuild", Name: "es"}}
	err := f.st.Update(ctx, func(tx store.Tx) error {
		for i := range versions {
			c, err := tx.CreateCommit(ctx, store.Commit{ID: registry.NewID(), ModuleID: m.ID, OwnerID: f.alice.ID, Digest: make([]byte, 64), Manifest: "x", CreatedByUserID: f.alice.ID})
			if err != nil {
				return err
			}
			if _, err := tx.SetLabel(ctx, m.ID, "main", c.ID, f.alice.ID); err != nil {
				return err
			}
			bld := sdk.Build{SDK: sdkOf, Module: m, Commit: c, OnDefaultLabel: true,
				Steps: []sdk.Step{{Owner: "bufbuild", Name: "es", Version: store.PluginVersion{Version: "v2.13.0", Revision: 1}}}}
			name, version, err := f.reg.Packager.Package(bld)
			if err != nil {
				return err
			}
			pj := PackageJSON{Name: name, Version: version,
				Description: "Generated from the module alice/shop at commit " + c.ID + " by the plugin bufbuild/es:v2.13.0, revision 1.",
				Type:        "module",
				Dependencies: map[string]string{"@bufbuild/protobuf": "^2.13.0",
					"@lathe/alice_money.bufbuild_es": "2.13.0-20261121150340-782e7479efbe.1"},
				Lathe: Provenance{Module: "alice/shop", Commit: c.ID, Plugin: "bufbuild/es:v2.13.0", Revision: 1}}
			tgz := []byte(fmt.Sprintf("tarball %d", i))
			meta, err := json.Marshal(VersionDoc{PackageJSON: pj, ID: name + "@" + version, Dist: dist(tgz, TarballURL(testURL, name, version))})
			if err != nil {
				return err
			}
			key, err := blob.PutBytes(ctx, f.sdks.Blobs(), tgz)
			if err != nil {
				return err
			}
			if _, err := tx.PutArtifact(ctx, store.Artifact{Ecosystem: Ecosystem, Name: name, Version: version, ModuleID: m.ID, Blob: key, Meta: meta}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	const path = "/gen/npm/v1/@lathe/alice_shop.bufbuild_es"
	const abbreviated = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*"
	// The first request records interest in the SDK, as in production.
	if r := f.get(path); r.code != http.StatusOK {
		b.Fatalf("GET %s: %d %s", path, r.code, r.body)
	}
	runtime.GC() // the setup's garbage is not the benchmark's
	for _, c := range []struct {
		name   string
		header []string
		cold   bool
	}{
		{name: "full", header: []string{"Accept", "application/json"}},
		{name: "abbreviated", header: []string{"Accept", abbreviated}},
		{name: "full-gzip", header: []string{"Accept", "application/json", "Accept-Encoding", "gzip, deflate"}},
		{name: "abbreviated-gzip", header: []string{"Accept", abbreviated, "Accept-Encoding", "gzip, deflate"}},
		{name: "cold-full", header: []string{"Accept", "application/json"}, cold: true},
	} {
		b.Run(c.name, func(b *testing.B) {
			var size int
			for b.Loop() {
				if c.cold {
					f.reg.cache = docCache{}
				}
				r := f.get(path, c.header...)
				if r.code != http.StatusOK {
					b.Fatalf("GET %s: %d %s", path, r.code, r.body)
				}
				size = len(r.body)
			}
			b.ReportMetric(float64(size), "bytes")
		})
	}
}
