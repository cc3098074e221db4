package codegen

import (
	"errors"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"
)

func TestCheckFeatures(t *testing.T) {
	t.Parallel()
	file := func(name, syntax string, ed descriptorpb.Edition) *descriptorpb.FileDescriptorProto {
		fd := &descriptorpb.FileDescriptorProto{Name: proto.String(name), Syntax: proto.String(syntax)}
		if syntax == "editions" {
			fd.Edition = ed.Enum()
		}
		return fd
	}
	req := &pluginpb.CodeGeneratorRequest{
		FileToGenerate: []string{"a.proto", "b.proto"},
		ProtoFile: []*descriptorpb.FileDescriptorProto{
			// An import in a later edition than the plugin supports is not the plugin's to generate.
			file("dep.proto", "editions", descriptorpb.Edition_EDITION_MAX),
			file("a.proto", "proto3", 0),
			file("b.proto", "editions", descriptorpb.Edition_EDITION_2024),
		},
	}
	editions := uint64(pluginpb.CodeGeneratorResponse_FEATURE_SUPPORTS_EDITIONS | pluginpb.CodeGeneratorResponse_FEATURE_PROTO3_OPTIONAL)
	for _, c := range []struct {
		resp *pluginpb.CodeGeneratorResponse
		want string
	}{
		{&pluginpb.CodeGeneratorResponse{}, "plugin x/y:v1 does not support editions, and b.proto uses edition 2024; generate this module with a plugin version that supports editions"},
		{&pluginpb.CodeGeneratorResponse{SupportedFeatures: proto.Uint64(editions), MinimumEdition: proto.Int32(int32(descriptorpb.Edition_EDITION_PROTO2)),
			MaximumEdition: proto.Int32(int32(descriptorpb.Edition_EDITION_2023))}, "plugin x/y:v1 supports editions PROTO2 to 2023, and b.proto uses edition 2024"},
		{&pluginpb.CodeGeneratorResponse{SupportedFeatures: proto.Uint64(editions), MinimumEdition: proto.Int32(int32(descriptorpb.Edition_EDITION_PROTO2)),
			MaximumEdition: proto.Int32(int32(descriptorpb.Edition_EDITION_2024))}, ""},
	} {
		err := checkFeatures("x/y:v1", req, c.resp)
		if c.want == "" {
			if err != nil {
				t.Errorf("%v: %v", c.resp, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, ErrPlugin) {
			t.Errorf("%v: %v, want %q", c.resp, err, c.want)
		}
	}
	// Without editions files there is nothing to check.
	req.FileToGenerate = []string{"a.proto"}
	if err := checkFeatures("x/y:v1", req, &pluginpb.CodeGeneratorResponse{}); err != nil {
		t.Error(err)
	}
}
