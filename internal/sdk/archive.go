package sdk

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"maps"
	"slices"
	"time"
)

// TarGz writes a deterministic gzip'd tar, as crates and npm tarballs are: regular files
// sorted by name under prefix/, every one with the modification time mtime, mode 0644
// and no owner, and a gzip header without name or time. Packing the same files gives the
// same bytes.
func TarGz(prefix string, mtime time.Time, files map[string][]byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(zw)
	for _, name := range slices.Sorted(maps.Keys(files)) {
		data := files[name]
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: prefix + "/" + name, Size: int64(len(data)), Mode: 0o644,
			ModTime: mtime, Format: tar.FormatPAX}
		if len(hdr.Name) <= 100 {
			hdr.Format = tar.FormatUSTAR
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
