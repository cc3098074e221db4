package auth

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"regexp"
	"strings"
	"testing"
)

func TestNewToken(t *testing.T) {
	valid := regexp.MustCompile(`^lathe_[A-Za-z0-9_-]{43}$`)
	seen := make(map[string]bool)
	for range 100 {
		token, hash, err := NewToken()
		if err != nil {
			t.Fatal(err)
		}
		if !valid.MatchString(token) {
			t.Fatalf("token %q does not match %v", token, valid)
		}
		if strings.ContainsAny(token, "@,:") {
			t.Fatalf("token %q contains a character reserved by BUF_TOKEN", token)
		}
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(token, TokenPrefix))
		if err != nil {
			t.Fatal(err)
		}
		if len(raw)*8 < 256 {
			t.Fatalf("token has %d bits of entropy, want >= 256", len(raw)*8)
		}
		if !bytes.Equal(hash, HashToken(token)) {
			t.Fatalf("NewToken hash differs from HashToken")
		}
		if seen[token] {
			t.Fatalf("duplicate token %q", token)
		}
		seen[token] = true
	}
}

func TestHashToken(t *testing.T) {
	want := sha256.Sum256([]byte("lathe_abc"))
	got := HashToken("lathe_abc")
	if !bytes.Equal(got, want[:]) {
		t.Fatalf("HashToken = %x, want %x", got, want)
	}
	if len(got) != sha256.Size {
		t.Fatalf("hash length %d", len(got))
	}
	if bytes.Equal(HashToken("lathe_abc"), HashToken("lathe_abd")) {
		t.Fatal("different tokens hash equal")
	}
}
