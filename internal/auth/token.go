package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
)

// Tokens are bearer secrets: Lathe stores only their SHA-256 hash, so a leaked
// database does not leak usable credentials. A plain (unsalted, fast) hash is
// enough because tokens carry 256 bits of entropy and cannot be guessed.

// TokenPrefix starts every token, so that secret scanners and humans can
// recognize a Lathe token.
const TokenPrefix = "lathe_"

// tokenBytes is the number of random bytes in a token: 256 bits.
const tokenBytes = 32

// NewToken returns a new random token and its hash.
//
// The token is TokenPrefix followed by unpadded base64url, so it contains only
// [A-Za-z0-9_-]: in particular none of '@', ',' and ':', which buf's BUF_TOKEN
// syntax ("token@remote,token@remote") reserves.
func NewToken() (token string, hash []byte, err error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("generating token: %w", err)
	}
	token = TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token), nil
}

// HashToken returns the SHA-256 hash of token, the form in which tokens are stored.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}
