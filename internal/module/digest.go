package module

import (
	"crypto/sha3"
	"encoding/hex"
	"slices"
	"strings"
)

// DigestLen is the length of SHAKE256 output buf uses everywhere: 64 bytes.
const DigestLen = 64

// Shake256 returns the 64-byte SHAKE256 digest of b.
func Shake256(b []byte) []byte {
	return sha3.SumSHAKE256(b, DigestLen)
}

// Manifest returns buf's CAS manifest of files and the blob keys (hex file digests) in
// the same order as its lines: one "shake256:<hex>  <path>\n" line per file, sorted by path.
func Manifest(files []File) (manifest []byte, keys map[string]string) {
	sorted := slices.Clone(files)
	slices.SortFunc(sorted, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	keys = make(map[string]string, len(files))
	var sb strings.Builder
	sb.Grow(len(files) * (len("shake256:  \n") + 2*DigestLen + 40))
	for _, f := range sorted {
		key := hex.EncodeToString(Shake256(f.Content))
		keys[f.Path] = key
		sb.WriteString("shake256:")
		sb.WriteString(key)
		sb.WriteString("  ")
		sb.WriteString(f.Path)
		sb.WriteByte('\n')
	}
	return []byte(sb.String()), keys
}

// B5 returns the raw b5 digest of a module: SHAKE256 over the manifest's digest string
// followed by the sorted b5 strings of every dependency, transitive ones included,
// joined by newlines.
func B5(manifest []byte, depDigests [][]byte) []byte {
	parts := make([]string, 0, len(depDigests))
	for _, d := range depDigests {
		parts = append(parts, FormatB5(d))
	}
	slices.Sort(parts)
	parts = slices.Insert(parts, 0, "shake256:"+hex.EncodeToString(Shake256(manifest)))
	return Shake256([]byte(strings.Join(parts, "\n")))
}

// ManifestKey returns the blob key of a manifest.
func ManifestKey(manifest []byte) string { return hex.EncodeToString(Shake256(manifest)) }

// FormatB5 renders a raw b5 digest as buf prints it: "b5:<hex>".
func FormatB5(d []byte) string { return "b5:" + hex.EncodeToString(d) }

// ParseManifest parses a manifest written by [Manifest] into paths and blob keys, sorted by path.
func ParseManifest(manifest []byte) ([]ManifestEntry, error) {
	lines := strings.Split(string(manifest), "\n")
	if len(lines) == 0 || lines[len(lines)-1] != "" {
		return nil, errBadManifest
	}
	entries := make([]ManifestEntry, 0, len(lines)-1)
	for _, line := range lines[:len(lines)-1] {
		digest, p, ok := strings.Cut(line, "  ")
		key, found := strings.CutPrefix(digest, "shake256:")
		if !ok || !found || len(key) != 2*DigestLen || p == "" {
			return nil, errBadManifest
		}
		entries = append(entries, ManifestEntry{Path: p, Key: key})
	}
	return entries, nil
}

// ManifestEntry is one line of a manifest.
type ManifestEntry struct {
	Path string
	// Key is the hex SHAKE256 digest of the file, which is also its blob key.
	Key string
}

type manifestError struct{}

func (manifestError) Error() string { return "malformed manifest" }

var errBadManifest error = manifestError{}
