package codegen

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// RuntimeNode is a JavaScript plugin run by the host's node in the native sandbox. Its
// program is a tar archive of the plugin's installation (an npm prefix directory) whose
// file entryFile names the script to run, relative to the archive's root.
const RuntimeNode = "node"

const entryFile = ".lathe-entry"

// PackNode archives an installed JavaScript plugin for [RuntimeNode]: the regular files
// and directories under dir (symbolic links, such as node_modules/.bin, are left out),
// in a deterministic order with fixed metadata, plus the entry script's path.
func PackNode(dir, entry string) ([]byte, error) {
	rel, err := filepath.Rel(dir, entry)
	if err != nil || strings.HasPrefix(rel, "..") {
		return nil, fmt.Errorf("entry %s is not inside %s", entry, dir)
	}
	var paths []string
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() || (d.IsDir() && p != dir) {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(paths)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	write := func(name string, mode int64, data []byte) error {
		hdr := &tar.Header{Name: name, Mode: mode, Size: int64(len(data)), Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	if err := write(entryFile, 0o644, []byte(filepath.ToSlash(rel))); err != nil {
		return nil, err
	}
	for _, p := range paths {
		name, _ := filepath.Rel(dir, p)
		name = filepath.ToSlash(name)
		info, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if info.IsDir() {
			if err := tw.WriteHeader(&tar.Header{Name: name + "/", Mode: 0o755, Typeflag: tar.TypeDir, Format: tar.FormatPAX}); err != nil {
				return nil, err
			}
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		if err := write(name, 0o644, data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// unpackNode extracts a [PackNode] archive into dir and returns the entry script's path.
// Only regular files and directories with clean relative names are accepted.
func unpackNode(archive []byte, dir string) (string, error) {
	tr := tar.NewReader(bytes.NewReader(archive))
	entry := ""
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", err
		}
		name := strings.TrimSuffix(hdr.Name, "/")
		if checkOutputPath(name) != nil {
			return "", fmt.Errorf("archive entry %q is not a clean relative path", hdr.Name)
		}
		target := filepath.Join(dir, filepath.FromSlash(name))
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return "", err
			}
		case tar.TypeReg:
			data, err := io.ReadAll(tr)
			if err != nil {
				return "", err
			}
			if name == entryFile {
				entry = string(data)
				continue
			}
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return "", err
			}
			if err := os.WriteFile(target, data, 0o644); err != nil {
				return "", err
			}
		default:
			return "", fmt.Errorf("archive entry %q is not a file or directory", hdr.Name)
		}
	}
	if entry == "" || checkOutputPath(entry) != nil {
		return "", fmt.Errorf("the archive names no valid entry script")
	}
	return filepath.Join(dir, filepath.FromSlash(path.Clean(entry))), nil
}
