package codegen_test

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/lathe-registry/lathe/internal/codegen"
)

// TestInputDigest changes each field of an Input in turn: every one changes the digest,
// so no setting of the request can be served another setting's cached output.
func TestInputDigest(t *testing.T) {
	base := codegen.Input{ImageDigest: []byte{1}, Parameter: "a"}
	want := base.Digest()
	if !bytes.Equal(codegen.Input{ImageDigest: []byte{1}, Parameter: "a"}.Digest(), want) {
		t.Fatal("equal inputs have different digests")
	}
	v := reflect.ValueOf(&base).Elem()
	for i := range v.NumField() {
		changed := base
		f := reflect.ValueOf(&changed).Elem().Field(i)
		switch f.Kind() {
		case reflect.Slice:
			f.SetBytes([]byte{2})
		case reflect.String:
			f.SetString("b")
		case reflect.Bool:
			f.SetBool(true)
		default:
			t.Fatalf("field %s: no test value for kind %s", v.Type().Field(i).Name, f.Kind())
		}
		if bytes.Equal(changed.Digest(), want) {
			t.Errorf("changing %s does not change the digest", v.Type().Field(i).Name)
		}
	}
	// Fields must not run into each other.
	if bytes.Equal(codegen.Input{Parameter: "a\x00imports true"}.Digest(), codegen.Input{Parameter: "a", IncludeImports: true}.Digest()) {
		t.Error("a parameter can imitate another field")
	}
}
