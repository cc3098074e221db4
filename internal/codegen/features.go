package codegen

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"
)

// checkFeatures refuses a response to files the plugin said it cannot handle, as buf and
// protoc do for local plugins: editions files need FEATURE_SUPPORTS_EDITIONS and an
// edition within the plugin's declared range. A plugin that does not declare editions
// support may still write something for them, but not code anyone should install.
func checkFeatures(name string, req *pluginpb.CodeGeneratorRequest, resp *pluginpb.CodeGeneratorResponse) error {
	generate := make(map[string]bool, len(req.GetFileToGenerate()))
	for _, f := range req.GetFileToGenerate() {
		generate[f] = true
	}
	editions := resp.GetSupportedFeatures()&uint64(pluginpb.CodeGeneratorResponse_FEATURE_SUPPORTS_EDITIONS) != 0
	lo, hi := descriptorpb.Edition(resp.GetMinimumEdition()), descriptorpb.Edition(resp.GetMaximumEdition())
	for _, fd := range req.GetProtoFile() {
		if !generate[fd.GetName()] || fd.GetSyntax() != "editions" {
			continue
		}
		ed := fd.GetEdition()
		switch {
		case !editions:
			return fmt.Errorf("%w: plugin %s does not support editions, and %s uses edition %s; generate this module with a plugin version that supports editions, or keep its files on proto2 or proto3",
				ErrPlugin, name, fd.GetName(), editionName(ed))
		case ed < lo || ed > hi:
			return fmt.Errorf("%w: plugin %s supports editions %s to %s, and %s uses edition %s; generate this module with a plugin version that supports it",
				ErrPlugin, name, editionName(lo), editionName(hi), fd.GetName(), editionName(ed))
		}
	}
	return nil
}

// editionName spells an edition as .proto files do: "2023", not "EDITION_2023".
func editionName(e descriptorpb.Edition) string {
	return strings.TrimPrefix(e.String(), "EDITION_")
}
