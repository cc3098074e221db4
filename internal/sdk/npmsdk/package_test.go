package npmsdk

import (
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/lathe-registry/lathe/internal/sdk"
	"github.com/lathe-registry/lathe/internal/store"
)

func testBuild(s sdk.SDK, pluginVersion string, rev int, onDefault bool) sdk.Build {
	return sdk.Build{
		SDK:            s,
		Commit:         store.Commit{ID: "0123456789abcdef0123456789abcdef", CreateTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		OnDefaultLabel: onDefault,
		Steps:          []sdk.Step{{Version: store.PluginVersion{Version: pluginVersion, Revision: rev}}},
	}
}

func TestNamesAndVersions(t *testing.T) {
	s := sdk.SDK{Owner: "acme", Module: "pet_apis.v2", Gen: sdk.Generator{Owner: "bufbuild", Name: "es"}}
	name, ok := PackageName("@lathe", s)
	if !ok || name != "@lathe/acme_pet_apis.v2.bufbuild_es" {
		t.Errorf("PackageName = %s, %v", name, ok)
	}
	for _, c := range []struct {
		b    sdk.Build
		want string
	}{
		{testBuild(s, "v2.13.0", 1, true), "2.13.0-20260102030405-0123456789ab.1"},
		{testBuild(s, "v2.13.0", 3, false), "2.13.0-00000000000000-0123456789ab.3"},
		{testBuild(s, "v36.0", 1, true), "36.0.0-20260102030405-0123456789ab.1"},
	} {
		if v := Version(c.b); v != c.want {
			t.Errorf("Version = %s, want %s", v, c.want)
		}
		if p, ok := sdk.ParseBSRVersion(c.want); !ok || p.ShortCommit != "0123456789ab" {
			t.Errorf("ParseBSRVersion(%s) = %+v, %v", c.want, p, ok)
		}
	}
	if got := TarballURL("https://lathe.example.com/gen/npm/v1", name, "2.13.0-20260102030405-0123456789ab.1"); got !=
		"https://lathe.example.com/gen/npm/v1/@lathe/acme_pet_apis.v2.bufbuild_es/-/acme_pet_apis.v2.bufbuild_es-2.13.0-20260102030405-0123456789ab.1.tgz" {
		t.Errorf("TarballURL = %s", got)
	}
	p := &Packager{}
	if n, v, err := p.Package(testBuild(s, "v2.13.0", 1, true)); err != nil || n != "@lathe/acme_pet_apis.v2.bufbuild_es" || v != "2.13.0-20260102030405-0123456789ab.1" {
		t.Errorf("Package = %s, %s, %v (the default scope is @lathe)", n, v, err)
	}
	p.Scope = "@acme"
	if n, _, _ := p.Package(testBuild(s, "v2.13.0", 1, true)); n != "@acme/acme_pet_apis.v2.bufbuild_es" {
		t.Errorf("Package with scope @acme = %s", n)
	}
	for _, s := range []sdk.SDK{
		{Owner: "acme", Module: "m", Gen: sdk.Generator{Template: true, Owner: "a", Name: "b"}},
		{Owner: "acme", Module: strings.Repeat("m", 100), Gen: sdk.Generator{Owner: "a", Name: strings.Repeat("p", 100)}},
	} {
		if name, ok := PackageName("@lathe", s); ok {
			t.Errorf("PackageName(%+v) = %s, want none", s, name)
		}
	}
}

func inputFile(path string, commit string, imported bool) sdk.InputFile {
	return sdk.InputFile{Path: path, Proto: &descriptorpb.FileDescriptorProto{Name: &path}, Import: imported, Commit: store.Commit{ID: commit}}
}

func TestRewriteImports(t *testing.T) {
	files := []sdk.InputFile{
		inputFile("google/protobuf/timestamp.proto", "", true),
		inputFile("acme/money/v1/money.proto", "money", true),
		inputFile("acme/money/v1/currency.proto", "money", true),
		inputFile("acme/shop/v1/shop.proto", "shop", false),
	}
	pkgs := map[string]string{"shop": "", "money": "@lathe/acme_money.bufbuild_es"}
	got, err := rewriteImports(files, pkgs, "pb.js")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"rewrite_imports=./acme/money/v1/currency_pb.js:@lathe/acme_money.bufbuild_es",
		"rewrite_imports=./acme/money/v1/money_pb.js:@lathe/acme_money.bufbuild_es",
	}
	if !slices.Equal(got, want) {
		t.Errorf("rewriteImports = %q, want %q", got, want)
	}
	// A plugin building on another (connect-es on es) imports the build's own _pb.js
	// files from the base plugin's package.
	pkgs["shop"] = "@lathe/acme_shop.bufbuild_es"
	got, _ = rewriteImports(files, pkgs, "pb.js")
	if !slices.Contains(got, "rewrite_imports=./acme/shop/v1/shop_pb.js:@lathe/acme_shop.bufbuild_es") || len(got) != 3 {
		t.Errorf("rewriteImports with a base package = %q", got)
	}
	for suffix, want := range map[string]string{"": "./a/b_*", "pb.js": "./a/b_pb.js", "_pb.js": "./a/b_pb.js", ".pb.js": "./a/b.pb.js"} {
		if got, err := importPattern("a/b.proto", suffix); err != nil || got != want {
			t.Errorf("importPattern(a/b.proto, %q) = %q, %v; want %q", suffix, got, err, want)
		}
	}
	if _, err := importPattern("a/b,c.proto", "pb.js"); err == nil {
		t.Error("importPattern accepted a path with a comma, which would split the plugin parameter")
	}
}

func TestCheckPackagePath(t *testing.T) {
	for _, ok := range []string{"a/b_pb.js", "a/b_pb.d.ts", "index.js"} {
		if err := checkPackagePath(ok); err != nil {
			t.Errorf("checkPackagePath(%s): %v", ok, err)
		}
	}
	for _, bad := range []string{"package.json", "../x.js", "/x.js", "a/../b.js", `a\b.js`, "node_modules/x/index.js"} {
		if err := checkPackagePath(bad); err == nil {
			t.Errorf("checkPackagePath(%s) accepted it", bad)
		}
	}
}

func TestDist(t *testing.T) {
	// echo -n hello | openssl dgst -sha512 -binary | base64; echo -n hello | sha1sum
	d := dist([]byte("hello"), "u")
	if d.Integrity != "sha512-m3HSJL1i83hdltRq0+o9czGb+8KJDKra4t/3JRlnPKcjI8PZm6XBHXx6zG4UuMXaDEZjR1wuXDre9G9zvN7AQw==" ||
		d.Shasum != "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d" || d.Tarball != "u" {
		t.Errorf("dist = %+v", d)
	}
}
