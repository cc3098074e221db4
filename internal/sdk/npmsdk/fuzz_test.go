package npmsdk

import (
	"strings"
	"testing"

	"github.com/lathe-registry/lathe/internal/sdk"
)

// Request paths, scoped names and tarball file names parse without panicking, and what
// they parse to spells the path back.
func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{
		"@lathe/alice_pet.apis.bufbuild_es", "@lathe/alice_shop.bufbuild_es/latest", "@lathe%2falice_shop.bufbuild_es",
		"@lathe/alice_shop.bufbuild_es/-/alice_shop.bufbuild_es-2.13.0-20261121143000-0123456789ab.1.tgz",
		"-/package/@lathe/alice_shop.bufbuild_es/dist-tags", "-/package/x", "a/b/c", "a//", "/-/", "@s/n/", "unscoped", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, rest string) {
		rq, ok := parseRequest(rest)
		if !ok {
			return
		}
		var back string
		switch {
		case rq.kind == docTags:
			back = "-/package/" + rq.name + "/dist-tags"
		case rq.tarball != "":
			back = rq.name + "/-/" + rq.tarball
			if v, ok := tarballVersion(rq.name, rq.tarball); ok && TarballURL("", rq.name, v) != "/"+back {
				t.Errorf("tarball %q of %q: version %q spells %q", rq.tarball, rq.name, v, TarballURL("", rq.name, v))
			}
		case rq.kind == docVersion:
			back = rq.name + "/" + rq.sub
			if rq.sub == "" || strings.Contains(rq.sub, "/") {
				t.Errorf("%q: version %q", rest, rq.sub)
			}
		default:
			back = rq.name
		}
		if back != rest {
			t.Errorf("parseRequest(%q) = %+v, which spells %q", rest, rq, back)
		}
	})
}

// Every split of a package name spells the name back.
func FuzzNameSplits(f *testing.F) {
	for _, s := range []string{"alice_pet.apis.bufbuild_es", "a_b.c_d", "a_.._", "_a.b_c", "a_b_c.d_e_f", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		for s := range sdk.NameSplits(name, [3]byte{'_', '.', '_'}) {
			if s.Owner == "" || s.Module == "" || s.Gen.Owner == "" || s.Gen.Name == "" || strings.Contains(s.Owner, "_") {
				t.Errorf("%q split into %+v", name, s)
			}
			if got, ok := PackageName("@x", s); ok && got != "@x/"+name {
				t.Errorf("%q split into %+v, whose name is %q", name, s, got)
			}
		}
	})
}
