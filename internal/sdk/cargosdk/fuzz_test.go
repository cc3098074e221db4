package cargosdk

import (
	"testing"

	"github.com/lathe-registry/lathe/internal/sdk"
)

// Index and download paths parse without panicking, and what they parse to spells the
// path back.
func FuzzIndexPath(f *testing.F) {
	for _, s := range []string{
		"1/a", "2/ab", "3/a/abc", "al/ic/alice_m_acme_gen", "al/ic/Alice_m_acme_gen", "/", "", "3//abc", "ab/cd/abc",
		"é/é", "a\xff/\xff",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		if name, ok := indexName(path); ok && indexPath(name) != path {
			t.Errorf("indexName(%q) = %q, whose index path is %q", path, name, indexPath(name))
		}
		if name, version, ok := downloadPath(path); ok && name+"/"+version+"/download" != path {
			t.Errorf("downloadPath(%q) = %q, %q", path, name, version)
		}
		if len(path) > maxCrateName {
			return // crateSDK splits no longer name
		}
		for s := range sdk.NameSplits(path, [3]byte{'_', '_', '_'}) {
			if got, ok := CrateName(s); ok && got != path {
				t.Errorf("%q split into %+v, whose crate is %q", path, s, got)
			}
		}
	})
}
