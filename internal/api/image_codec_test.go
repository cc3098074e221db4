package api

import (
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"

	imagev1 "github.com/lathe-registry/lathe/internal/gen/buf/alpha/image/v1"
	registryv1alpha1 "github.com/lathe-registry/lathe/internal/gen/buf/alpha/registry/v1alpha1"
)

// FuzzImageCodec checks the codec against the protobuf decoder: whatever the decoder
// accepts, the codec accepts, and the request it decodes, with its raw image decoded,
// is the decoder's. The codec may accept more, an image that does not decode, since it
// decodes images only when a plugin must run; the handler then rejects it.
func FuzzImageCodec(f *testing.F) {
	image := &imagev1.Image{File: []*imagev1.ImageFile{{
		Name: proto.String("a/v1/a.proto"), Package: proto.String("a.v1"), Syntax: proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{{Name: proto.String("A")}},
	}}}
	req := &registryv1alpha1.GenerateCodeRequest{
		Image:          image,
		IncludeImports: true,
		Requests: []*registryv1alpha1.PluginGenerationRequest{{
			PluginReference: &registryv1alpha1.CuratedPluginReference{Owner: "test", Name: "plugin", Version: "v1.0.0"},
			Options:         []string{"paths=source_relative"},
		}},
	}
	data, err := proto.Marshal(req)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	imageBytes, err := proto.Marshal(image)
	if err != nil {
		f.Fatal(err)
	}
	// The image in two occurrences, which merge, around another field.
	split := protowire.AppendTag(nil, 1, protowire.BytesType)
	split = protowire.AppendBytes(split, imageBytes[:len(imageBytes)/2])
	split = protowire.AppendTag(split, 3, protowire.VarintType)
	split = protowire.AppendVarint(split, 1)
	split = protowire.AppendTag(split, 1, protowire.BytesType)
	split = protowire.AppendBytes(split, imageBytes[len(imageBytes)/2:])
	f.Add(split)
	f.Add(protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 7)) // image with the wrong wire type
	f.Add([]byte{0x0a, 0x00})                                                           // an empty image
	f.Add([]byte{0x0a, 0x05, 0x01})                                                     // truncated
	f.Add([]byte{})

	codec := &imageCodec{}
	f.Fuzz(func(t *testing.T, data []byte) {
		want := &registryv1alpha1.GenerateCodeRequest{}
		wantErr := proto.Unmarshal(data, want)

		got := &registryv1alpha1.GenerateCodeRequest{}
		if err := codec.Unmarshal(data, got); err != nil {
			if wantErr == nil {
				t.Fatalf("codec rejects what the decoder accepts: %v", err)
			}
			return
		}
		if raw, ok := codec.image(got); ok {
			decoded := &imagev1.Image{}
			if err := proto.Unmarshal(raw.data, decoded); err != nil {
				if wantErr == nil {
					t.Fatalf("codec's image does not decode, though the request does: %v", err)
				}
				return
			}
			got.Image = decoded
		}
		if wantErr != nil {
			// The image was the only fault, and the codec deferred it: only an image can be.
			return
		}
		// The codec cannot tell an absent image from an empty one; the handler rejects both
		// as having no files.
		if want.Image == nil && got.Image != nil && proto.Size(got.Image) == 0 {
			want.Image = got.Image
		}
		if !proto.Equal(got, want) {
			t.Fatalf("codec decodes %v, decoder %v", got, want)
		}
	})
}
