package module

import (
	"encoding/hex"
	"testing"
)

// The expected digests were computed independently with Python's hashlib.shake_256 from
// the b5 definition (manifest of "shake256:<hex>  <path>\n" lines; SHAKE256 over the
// manifest digest and the sorted dependency b5 strings joined by newlines).
func TestB5(t *testing.T) {
	base := []File{
		{Path: "acme/base/v1/base.proto", Content: []byte("syntax = \"proto3\";\npackage acme.base.v1;\nmessage Base { string id = 1; }\n")},
		{Path: "README.md", Content: []byte("# base\n")},
		{Path: "LICENSE", Content: []byte("MIT\n")},
	}
	manifest, keys := Manifest(base)
	a := B5(manifest, nil)
	const wantA = "e28467eda882121f2f0a70616416dc1a9c03997487ef6e328a6a949d3c2ca97ce39f5987bd93b5d59f2b422cb78c95dc73ce6e57ddf692f0aec6dc69f9a7fc30"
	if got := hex.EncodeToString(a); got != wantA {
		t.Fatalf("b5 of base = %s, want %s", got, wantA)
	}
	if len(keys) != 3 || keys["LICENSE"] != hex.EncodeToString(Shake256([]byte("MIT\n"))) {
		t.Fatalf("keys = %v", keys)
	}
	app := []File{{Path: "acme/app/v1/app.proto", Content: []byte("syntax = \"proto3\";\npackage acme.app.v1;\nimport \"acme/base/v1/base.proto\";\nmessage App { acme.base.v1.Base base = 1; }\n")}}
	appManifest, _ := Manifest(app)
	const wantB = "5acd8c34ddc65d2e31285e5bc3760228ed7b1d884966090027b07a2ef52625fef31c6353aca2664779d9a684a709f9cc5dde8adc7b7a16fad7439f5e715c95f9"
	if got := hex.EncodeToString(B5(appManifest, [][]byte{a})); got != wantB {
		t.Fatalf("b5 of app = %s, want %s", got, wantB)
	}
	if FormatB5(a) != "b5:"+wantA {
		t.Fatalf("FormatB5 = %s", FormatB5(a))
	}
}

func TestManifestRoundTrip(t *testing.T) {
	files := []File{{Path: "b.proto", Content: []byte("b")}, {Path: "a/a.proto", Content: []byte("a")}}
	manifest, keys := Manifest(files)
	entries, err := ParseManifest(manifest)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || entries[0].Path != "a/a.proto" || entries[1].Path != "b.proto" || entries[1].Key != keys["b.proto"] {
		t.Fatalf("entries = %+v", entries)
	}
	for _, bad := range []string{"x", "shake256:00  a\n", "shake256:" + keys["b.proto"] + " b.proto\n", "shake256:" + keys["b.proto"] + "  b.proto"} {
		if _, err := ParseManifest([]byte(bad)); err == nil {
			t.Errorf("ParseManifest(%q) succeeded", bad)
		}
	}
}
