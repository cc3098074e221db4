package codegen

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"google.golang.org/protobuf/types/pluginpb"
)

// Apply turns plugin output into whole files, as protoc does: a file with an insertion
// point inserts its content before the line holding "@@protoc_insertion_point(NAME)" in
// the named file generated earlier, indented like that line; a file without a name
// continues the previous one. Names must have passed the engine's checks.
func Apply(files []*pluginpb.CodeGeneratorResponse_File) (map[string][]byte, error) {
	out := make(map[string][]byte)
	last := ""
	for _, f := range files {
		switch {
		case f.GetInsertionPoint() != "":
			content, ok := out[f.GetName()]
			if !ok {
				return nil, fmt.Errorf("%w: insertion point %q is in %s, which no plugin generated", ErrPlugin, f.GetInsertionPoint(), f.GetName())
			}
			marker := "@@protoc_insertion_point(" + f.GetInsertionPoint() + ")"
			text := string(content)
			i := strings.Index(text, marker)
			if i < 0 {
				return nil, fmt.Errorf("%w: %s has no insertion point %q", ErrPlugin, f.GetName(), f.GetInsertionPoint())
			}
			lineStart := strings.LastIndexByte(text[:i], '\n') + 1
			indent := text[lineStart : lineStart+len(text[lineStart:])-len(strings.TrimLeft(text[lineStart:], " \t"))]
			var ins strings.Builder
			for _, line := range strings.SplitAfter(f.GetContent(), "\n") {
				if line != "" {
					ins.WriteString(indent + line)
				}
			}
			out[f.GetName()] = []byte(text[:lineStart] + ins.String() + text[lineStart:])
		case f.GetName() == "":
			if last == "" {
				return nil, fmt.Errorf("%w: the first output file has no name", ErrPlugin)
			}
			out[last] = append(out[last], f.GetContent()...)
		default:
			if _, dup := out[f.GetName()]; dup {
				return nil, fmt.Errorf("%w: %s is generated twice", ErrPlugin, f.GetName())
			}
			out[f.GetName()] = []byte(f.GetContent())
			last = f.GetName()
		}
	}
	return out, nil
}

// WriteFiles applies plugin output and writes it under dir, returning how many files it wrote.
func WriteFiles(dir string, files []*pluginpb.CodeGeneratorResponse_File) (int, error) {
	out, err := Apply(files)
	if err != nil {
		return 0, err
	}
	names := make([]string, 0, len(out))
	for name := range out {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return 0, err
		}
		if err := os.WriteFile(path, out[name], 0o644); err != nil {
			return 0, err
		}
	}
	return len(names), nil
}
