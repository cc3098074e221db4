package pysdk

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lathe-registry/lathe/internal/codegen"
	"github.com/lathe-registry/lathe/internal/plugin/pluginconfig"
	"github.com/lathe-registry/lathe/internal/sdk"
	"github.com/lathe-registry/lathe/internal/store"
)

func build(pluginVersion string, rev int, seq int64, onDefault bool) sdk.Build {
	return sdk.Build{
		SDK: sdk.SDK{Owner: "alice", Module: "shop", Gen: sdk.Generator{Owner: "protocolbuffers", Name: "python"}},
		Commit: store.Commit{ID: "0123456789abcdef0123456789abcdef", Seq: seq,
			CreateTime: time.Date(2026, 11, 21, 15, 30, 0, 0, time.FixedZone("x", 3600))},
		OnDefaultLabel: onDefault,
		Steps:          []sdk.Step{{Owner: "protocolbuffers", Name: "python", Version: store.PluginVersion{Version: pluginVersion, Revision: rev}}},
	}
}

func TestNames(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		sdk         sdk.SDK
		name, wheel string
	}{
		{sdk.SDK{Owner: "alice", Module: "shop", Gen: sdk.Generator{Owner: "protocolbuffers", Name: "python"}},
			"alice-shop-protocolbuffers-python", "alice_shop_protocolbuffers_python-1.0-py3-none-any.whl"},
		{sdk.SDK{Owner: "my-org", Module: "pet_store.v1", Gen: sdk.Generator{Owner: "grpc", Name: "python__grpc"}},
			"my-org-pet-store-v1-grpc-python-grpc", "my_org_pet_store_v1_grpc_python_grpc-1.0-py3-none-any.whl"},
		{sdk.SDK{Owner: "bob", Module: "tail_", Gen: sdk.Generator{Owner: "x", Name: "py."}},
			"bob-tail-x-py", "bob_tail_x_py-1.0-py3-none-any.whl"},
	} {
		name, ok := ProjectName(c.sdk)
		if !ok || name != c.name {
			t.Errorf("ProjectName(%v) = %q, %v; want %q", c.sdk, name, ok, c.name)
		}
		if got := WheelName(name, "1.0"); got != c.wheel {
			t.Errorf("WheelName(%q) = %q, want %q", name, got, c.wheel)
		}
		if v, ok := wheelVersion(name, c.wheel); !ok || v != "1.0" {
			t.Errorf("wheelVersion(%q) = %q, %v", c.wheel, v, ok)
		}
	}
	if _, ok := ProjectName(sdk.SDK{Owner: "a", Module: "b", Gen: sdk.Generator{Template: true, Owner: "c", Name: "d"}}); ok {
		t.Error("a template has a project name")
	}
	for in, want := range map[string]string{"Acme_PetAPIs": "acme-petapis", "a.-_b": "a-b", "a--b__c..d": "a-b-c-d", "abc": "abc"} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
	for _, bad := range []string{"alice_shop_protocolbuffers_python-1.0-py3-none-any.whl.metadata", "alice_shop_x-1.0-py3-none-any.whl",
		"alice_shop_protocolbuffers_python-1-0-py3-none-any.whl", "alice_shop_protocolbuffers_python--py3-none-any.whl"} {
		if v, ok := wheelVersion("alice-shop-protocolbuffers-python", bad); ok {
			t.Errorf("wheelVersion(%q) = %q", bad, v)
		}
	}
}

// pep440Less compares the two version forms Version writes, as PEP 440 orders them: by
// release segments (missing ones count as 0), a development release before its release.
func pep440Less(a, b string) bool {
	parse := func(v string) ([]int, int) {
		dev := -1
		var rel []int
		for part := range strings.SplitSeq(v, ".") {
			if n, ok := strings.CutPrefix(part, "dev"); ok {
				dev, _ = strconv.Atoi(n)
				continue
			}
			n, _ := strconv.Atoi(part)
			rel = append(rel, n)
		}
		return rel, dev
	}
	ra, da := parse(a)
	rb, db := parse(b)
	for len(ra) < len(rb) {
		ra = append(ra, 0)
	}
	for len(rb) < len(ra) {
		rb = append(rb, 0)
	}
	if c := slices.Compare(ra, rb); c != 0 {
		return c < 0
	}
	switch {
	case da >= 0 && db >= 0:
		return da < db
	case da >= 0:
		return true
	}
	return false
}

func TestVersions(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		b    sdk.Build
		want string
	}{
		{build("v21.12", 1, 7, true), "21.12.0.1.20261121143000.7"},
		{build("v1.36.11", 12, 1, true), "1.36.11.12.20261121143000.1"},
		{build("v21.12.0+meta", 2, 9, false), "21.12.0.2.dev9"},
	} {
		got, err := Version(c.b)
		if err != nil || got != c.want {
			t.Errorf("Version = %q, %v; want %q", got, err, c.want)
			continue
		}
		p, ok := ParseVersion(got)
		wantTS := ""
		if c.b.OnDefaultLabel {
			wantTS = c.b.Timestamp()
		}
		if !ok || p.Revision != c.b.Plugin().Version.Revision || p.Seq != c.b.Commit.Seq || p.Timestamp != wantTS ||
			"v"+strings.Join(strings.Split(got, ".")[:3], ".") != p.PluginVersion {
			t.Errorf("ParseVersion(%q) = %+v, %v", got, p, ok)
		}
	}
	if _, err := Version(build("v1.0.0-rc.1", 1, 1, true)); !errors.Is(err, sdk.ErrNotFound) {
		t.Errorf("prerelease plugin version: %v", err)
	}
	for _, bad := range []string{"", "1.2.3", "1.2.3.1", "1.2.3.0.20261121143000.1", "1.2.3.1.2026112114300.1", "1.2.3.1.20261121143000.0",
		"1.2.3.1.20261121143000.01", "01.2.3.1.20261121143000.1", "1.2.3.1.dev", "1.2.3.1.dev0", "1.2.3.1.20261121143000.1+x", "1.2.3.1.post1"} {
		if p, ok := ParseVersion(bad); ok {
			t.Errorf("ParseVersion(%q) = %+v", bad, p)
		}
	}
	// Later default-label commits sort higher; development releases sort below every
	// default-label version of the same plugin version and revision; a new revision or
	// plugin version sorts above.
	order := []string{
		"21.12.0.1.dev9",
		"21.12.0.1.20261121143000.7",
		"21.12.0.1.20261121143000.8", // same second, later commit
		"21.12.0.1.20261122000000.10",
		"21.12.0.2.dev3",
		"21.12.0.2.20250101000000.1",
		"22.0.0.1.20200101000000.1",
	}
	for i := 1; i < len(order); i++ {
		if !pep440Less(order[i-1], order[i]) {
			t.Errorf("%s does not sort before %s", order[i-1], order[i])
		}
	}
}

func TestLayout(t *testing.T) {
	t.Parallel()
	own := store.Commit{ID: "own"}
	dep := store.Commit{ID: "dep"}
	inputs := []sdk.InputFile{
		{Path: "acme/money/v1/money.proto", Commit: dep, Import: true},
		{Path: "google/protobuf/timestamp.proto", Import: true},
		{Path: "acme/shop/v1/shop.proto", Commit: own},
		{Path: "acme/shop/v1/extra/money_ext.proto", Commit: own},
		{Path: "acme/common/v1/common.proto", Commit: own},
		{Path: "acme/common/v1/x/y.proto", Commit: dep, Import: true},
		{Path: "google/type/date.proto", Commit: own},
		{Path: "google/x.proto", Commit: own},
		{Path: "top.proto", Commit: own},
	}
	generated := map[string][]byte{
		"acme/shop/v1/shop_pb2.py":             []byte("x"),
		"acme/shop/v1/shop_pb2.pyi":            []byte("x"),
		"acme/shop/v1/extra/money_ext_pb2.py":  []byte("x"),
		"acme/common/v1/common_pb2.py":         []byte("x"),
		"google/type/date_pb2.py":              []byte("x"),
		"google/x_pb2.py":                      []byte("x"),
		"top_pb2.py":                           []byte("x"),
		"acme/shop/v1/extra/__init__.py":       []byte("# the plugin's own\n"),
		"acme/shop/v1/extra/data/readme.txt":   []byte("x"),
		"acme/shop/v1/extra/data/more/file.py": []byte("x"),
	}
	files, err := layout(generated, "own", inputs, true)
	if err != nil {
		t.Fatal(err)
	}
	var inits []string
	for name, content := range files {
		if strings.HasSuffix(name, "__init__.py") {
			inits = append(inits, name)
			if name != "acme/shop/v1/extra/__init__.py" && len(content) != 0 {
				t.Errorf("%s is not empty", name)
			}
		}
	}
	slices.Sort(inits)
	// acme/common/v1 holds a dependency's subpackage, google/ the runtime's, acme/ and
	// acme/shop/ no generated module: all namespace packages.
	want := []string{"acme/shop/v1/__init__.py", "acme/shop/v1/extra/__init__.py", "acme/shop/v1/extra/data/more/__init__.py", "google/type/__init__.py"}
	if !slices.Equal(inits, want) {
		t.Errorf("__init__.py files %v, want %v", inits, want)
	}
	if string(files["acme/shop/v1/extra/__init__.py"]) != "# the plugin's own\n" {
		t.Error("the plugin's __init__.py was replaced")
	}
	// A wheel of a plugin that builds on another adds none: the other's wheel has them.
	files, err = layout(generated, "own", inputs, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(generated) {
		t.Errorf("without inits: %d files, generated %d", len(files), len(generated))
	}
	for _, bad := range []string{"../x.py", "/abs.py", "a/./b.py", `a\b.py`, "x-1.0.dist-info/METADATA", "x.data/scripts/evil", "a,b.py", "a\nb.py"} {
		if _, err := layout(map[string][]byte{bad: nil}, "own", nil, true); !errors.Is(err, codegen.ErrPlugin) {
			t.Errorf("layout accepted %q: %v", bad, err)
		}
	}
}

func TestMetadata(t *testing.T) {
	t.Parallel()
	cfg := &pluginconfig.PythonRegistry{RequiresPython: ">=3.8", Deps: []string{"protobuf>=4.21", "grpcio\n>=1"}}
	m := &Meta{Commit: "0123456789abcdef0123456789abcdef", Module: "alice/shop", Plugin: "protocolbuffers/python:v21.12", Revision: 1}
	got := string(metadata("alice-shop-protocolbuffers-python", "21.12.0.1.20261121143000.2", cfg,
		[]store.Artifact{{Name: "alice-money-protocolbuffers-python", Version: "21.12.0.1.20261121140000.1"}}, m))
	want := `Metadata-Version: 2.1
Name: alice-shop-protocolbuffers-python
Version: 21.12.0.1.20261121143000.2
Summary: Generated from the module alice/shop at commit 0123456789abcdef0123456789abcdef by the plugin protocolbuffers/python:v21.12, revision 1.
Requires-Python: >=3.8
Requires-Dist: protobuf>=4.21
Requires-Dist: grpcio >=1
Requires-Dist: alice-money-protocolbuffers-python==21.12.0.1.20261121140000.1
Description-Content-Type: text/plain

Code generated by Lathe. DO NOT EDIT.

Module: alice/shop
Commit: 0123456789abcdef0123456789abcdef
Plugin: protocolbuffers/python:v21.12
Plugin revision: 1
`
	if got != want {
		t.Errorf("METADATA:\n%s\nwant:\n%s", got, want)
	}
}

func TestWheel(t *testing.T) {
	t.Parallel()
	files := map[string][]byte{
		"acme/shop/v1/shop_pb2.py": []byte("# generated\n"),
		"acme/shop/v1/__init__.py": {},
		"acme/a_pb2.py":            []byte(strings.Repeat("compressible ", 100)),
	}
	md := []byte("Metadata-Version: 2.1\nName: alice-shop-protocolbuffers-python\nVersion: 1.0\n")
	whl, err := buildWheel("alice-shop-protocolbuffers-python", "1.0", files, md)
	if err != nil {
		t.Fatal(err)
	}
	// The same files give the same bytes, whatever the map order.
	for range 5 {
		again, err := buildWheel("alice-shop-protocolbuffers-python", "1.0", files, md)
		if err != nil || !bytes.Equal(again, whl) {
			t.Fatalf("a second build differs (%v)", err)
		}
	}
	zr, err := zip.NewReader(bytes.NewReader(whl), int64(len(whl)))
	if err != nil {
		t.Fatal(err)
	}
	const di = "alice_shop_protocolbuffers_python-1.0.dist-info/"
	var names []string
	contents := map[string][]byte{}
	for _, f := range zr.File {
		names = append(names, f.Name)
		if f.Method != zip.Deflate || !f.Modified.Equal(wheelTime) || f.Mode().Perm() != 0o644 {
			t.Errorf("%s: method %d, time %v, mode %v", f.Name, f.Method, f.Modified, f.Mode())
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		contents[f.Name], err = io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	wantNames := []string{"acme/a_pb2.py", "acme/shop/v1/__init__.py", "acme/shop/v1/shop_pb2.py", di + "METADATA", di + "WHEEL", di + "RECORD"}
	if !slices.Equal(names, wantNames) {
		t.Errorf("entries %v, want %v", names, wantNames)
	}
	if !bytes.Equal(contents[di+"METADATA"], md) {
		t.Error("METADATA is not the metadata given")
	}
	if got := string(contents[di+"WHEEL"]); got != "Wheel-Version: 1.0\nGenerator: lathe\nRoot-Is-Purelib: true\nTag: py3-none-any\n" {
		t.Errorf("WHEEL:\n%s", got)
	}
	// RECORD lists every other entry with its urlsafe-base64 SHA-256 and size, then itself.
	lines := strings.Split(strings.TrimSuffix(string(contents[di+"RECORD"]), "\n"), "\n")
	if len(lines) != len(names) || lines[len(lines)-1] != di+"RECORD,," {
		t.Fatalf("RECORD:\n%s", contents[di+"RECORD"])
	}
	for i, line := range lines[:len(lines)-1] {
		parts := strings.Split(line, ",")
		sum := sha256.Sum256(contents[names[i]])
		want := []string{names[i], "sha256=" + base64.RawURLEncoding.EncodeToString(sum[:]), strconv.Itoa(len(contents[names[i]]))}
		if !slices.Equal(parts, want) {
			t.Errorf("RECORD line %q, want %q", line, strings.Join(want, ","))
		}
	}
	// The known value for an empty file, as pip's own tests have it.
	if got := recordLine("x/__init__.py", nil); got != "x/__init__.py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0\n" {
		t.Errorf("recordLine of an empty file = %q", got)
	}
}

func TestMeta(t *testing.T) {
	t.Parallel()
	m := &Meta{Filename: "a-1.0-py3-none-any.whl", SHA256: strings.Repeat("a", 64), Size: 3, Metadata: []byte("Metadata-Version: 2.1\n"), Commit: "c"}
	data, err := marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseMeta(data)
	if err != nil || back.Filename != m.Filename || !bytes.Equal(back.Metadata, m.Metadata) || back.MetadataSHA256() != m.MetadataSHA256() {
		t.Errorf("ParseMeta = %+v, %v", back, err)
	}
	sum := sha256.Sum256(m.Metadata)
	if m.MetadataSHA256() != hex.EncodeToString(sum[:]) {
		t.Error("MetadataSHA256 is not the hex SHA-256")
	}
}
