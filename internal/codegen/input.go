package codegen

import (
	"crypto/sha256"
	"fmt"

	"google.golang.org/protobuf/types/pluginpb"

	"github.com/lathe-registry/lathe/internal/module"
)

// Input is what a generation request built from a buf image is a function of: the image
// and the settings [Request] takes. [Engine.GenerateInput] keys its cache by [Input.Digest]
// and builds the request with [Input.Request], so a field added here takes part in both.
type Input struct {
	// ImageDigest identifies the image's files, e.g. the SHA-256 of its bytes as they
	// arrived.
	ImageDigest    []byte
	Parameter      string
	IncludeImports bool
	IncludeWKT     bool
}

// Digest identifies the request that in builds, without building it.
func (in Input) Digest() []byte {
	h := sha256.New()
	// The format of the first version, so that outputs cached by it stay valid.
	fmt.Fprintf(h, "image %x\x00parameter %q\x00imports %t\x00wkt %t", in.ImageDigest, in.Parameter, in.IncludeImports, in.IncludeWKT)
	return h.Sum(nil)
}

// Request builds in's request from the image's files; its errors are the input's fault.
func (in Input) Request(files []File) (*pluginpb.CodeGeneratorRequest, error) {
	req, err := Request(files, in.Parameter, in.IncludeImports, in.IncludeWKT)
	if err != nil {
		return nil, &module.InputError{Msg: err.Error()}
	}
	return req, nil
}
