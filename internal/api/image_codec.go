package api

import (
	"crypto/sha256"
	"runtime"
	"sync"
	"weak"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	registryv1alpha1 "github.com/lathe-registry/lathe/internal/gen/buf/alpha/registry/v1alpha1"
)

// imageCodec is the binary protobuf codec, except for GenerateCodeRequest: it decodes
// everything but the image, and keeps the image's bytes as they arrived, with their
// digest. The digest identifies the input, so a cache hit neither decodes nor re-encodes
// an image that can be megabytes; the image is decoded only when a plugin must run.
type imageCodec struct {
	// raw maps weak pointers to requests to their images. Weak, and deleted when the
	// request is collected, so that a request rejected before its handler runs (by the
	// auth interceptor, say) leaves nothing behind.
	raw sync.Map // weak.Pointer[GenerateCodeRequest] → rawImage
}

// rawImage is the encoded image of a request and the digest of those bytes.
type rawImage struct {
	data   []byte
	digest []byte
}

func (*imageCodec) Name() string { return "proto" }

func (*imageCodec) Marshal(msg any) ([]byte, error) { return proto.Marshal(msg.(proto.Message)) }

func (c *imageCodec) Unmarshal(data []byte, msg any) error {
	req, ok := msg.(*registryv1alpha1.GenerateCodeRequest)
	if !ok {
		return proto.Unmarshal(data, msg.(proto.Message))
	}
	// Split the image's occurrences (field 1) from the rest; repeated occurrences of a
	// message field merge, so the image is their concatenation.
	var image, rest []byte
	for b := data; len(b) > 0; {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		m := protowire.ConsumeFieldValue(num, typ, b[n:])
		if m < 0 {
			return protowire.ParseError(m)
		}
		if num == 1 {
			if typ != protowire.BytesType {
				return proto.Unmarshal(data, req) // let the decoder report it
			}
			v, _ := protowire.ConsumeBytes(b[n:])
			image = append(image, v...)
		} else {
			rest = append(rest, b[:n+m]...)
		}
		b = b[n+m:]
	}
	if err := proto.Unmarshal(rest, req); err != nil {
		return err
	}
	sum := sha256.Sum256(image)
	key := weak.Make(req)
	c.raw.Store(key, rawImage{data: image, digest: sum[:]})
	runtime.AddCleanup(req, func(k weak.Pointer[registryv1alpha1.GenerateCodeRequest]) { c.raw.Delete(k) }, key)
	return nil
}

// image returns, and forgets, the raw image of a request the codec decoded; ok is false
// for requests that arrived in another encoding, whose Image field is set instead.
func (c *imageCodec) image(req *registryv1alpha1.GenerateCodeRequest) (rawImage, bool) {
	v, ok := c.raw.LoadAndDelete(weak.Make(req))
	if !ok {
		return rawImage{}, false
	}
	return v.(rawImage), true
}
