package codegen

import (
	"fmt"
	"strings"

	"github.com/bufbuild/protocompile/options"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"

	imagev1 "github.com/lathe-registry/lathe/internal/gen/buf/alpha/image/v1"
)

// File is one file of a generation input: its descriptor and whether it is only there
// because another file imports it.
type File struct {
	Proto    *descriptorpb.FileDescriptorProto
	IsImport bool
}

// FilesFromImage converts a buf image into generation input files, checking their names.
func FilesFromImage(image *imagev1.Image) ([]File, error) {
	files := make([]File, 0, len(image.GetFile()))
	seen := make(map[string]bool, len(image.GetFile()))
	for _, f := range image.GetFile() {
		name := f.GetName()
		if err := checkOutputPath(name); err != nil || !strings.HasSuffix(name, ".proto") {
			return nil, fmt.Errorf("image file %q: not a relative .proto path", name)
		}
		if seen[name] {
			return nil, fmt.Errorf("image file %q appears twice", name)
		}
		seen[name] = true
		// An ImageFile is a FileDescriptorProto plus field 8042; re-reading its encoding
		// without that field gives the descriptor buf itself hands to plugins.
		plain := proto.Clone(f).(*imagev1.ImageFile)
		plain.BufExtension = nil
		data, err := proto.Marshal(plain)
		if err != nil {
			return nil, err
		}
		fd := &descriptorpb.FileDescriptorProto{}
		if err := proto.Unmarshal(data, fd); err != nil {
			return nil, fmt.Errorf("image file %q: %w", name, err)
		}
		files = append(files, File{Proto: fd, IsImport: f.GetBufExtension().GetIsImport()})
	}
	return files, nil
}

// Request builds the CodeGeneratorRequest that buf builds for a local plugin from the
// same files: every file in proto_file (dependencies first, as given); the non-imports,
// and with includeImports the imports too (well-known types only with includeWKT), in
// file_to_generate with their full descriptors in source_file_descriptors and
// source-retention options stripped from their proto_file copies; the parameter if not
// empty; no compiler_version, as buf sends none.
func Request(files []File, parameter string, includeImports, includeWKT bool) (*pluginpb.CodeGeneratorRequest, error) {
	req := &pluginpb.CodeGeneratorRequest{ProtoFile: make([]*descriptorpb.FileDescriptorProto, len(files))}
	if parameter != "" {
		req.Parameter = proto.String(parameter)
	}
	for i, f := range files {
		fd := f.Proto
		if !f.IsImport || (includeImports && (includeWKT || !IsWellKnown(fd.GetName()))) {
			req.FileToGenerate = append(req.FileToGenerate, fd.GetName())
			req.SourceFileDescriptors = append(req.SourceFileDescriptors, fd)
			stripped, err := options.StripSourceRetentionOptionsFromFile(fd)
			if err != nil {
				return nil, fmt.Errorf("file %s: %w", fd.GetName(), err)
			}
			fd = stripped
		}
		req.ProtoFile[i] = fd
	}
	if len(req.FileToGenerate) == 0 {
		return nil, fmt.Errorf("no files to generate")
	}
	return req, nil
}

// wellKnown are the files buf treats as well-known types.
var wellKnown = map[string]bool{ //nolint:gochecknoglobals // read-only table
	"google/protobuf/any.proto":             true,
	"google/protobuf/api.proto":             true,
	"google/protobuf/compiler/plugin.proto": true,
	"google/protobuf/cpp_features.proto":    true,
	"google/protobuf/descriptor.proto":      true,
	"google/protobuf/duration.proto":        true,
	"google/protobuf/empty.proto":           true,
	"google/protobuf/field_mask.proto":      true,
	"google/protobuf/go_features.proto":     true,
	"google/protobuf/java_features.proto":   true,
	"google/protobuf/source_context.proto":  true,
	"google/protobuf/struct.proto":          true,
	"google/protobuf/timestamp.proto":       true,
	"google/protobuf/type.proto":            true,
	"google/protobuf/wrappers.proto":        true,
}

// IsWellKnown reports whether the file is one of the well-known types, which generated
// code imports from each language's protobuf runtime.
func IsWellKnown(name string) bool { return wellKnown[name] }
