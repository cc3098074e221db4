package wellknown

// grpcSeparatePackage gives protoc-gen-go-grpc the separate_package option that grpc/go's
// buf.plugin.yaml passes, as the BSR's build of it has: with separate_package=true, the
// stubs of dir/x.proto (Go package P, named n) go to dir/ngrpc/x_grpc.pb.go, in package
// P/ngrpc named ngrpc, and refer to the messages in P. A Go SDK of grpc/go then holds only
// stubs and imports the messages from the protocolbuffers/go SDK; without the option the
// stubs would have to share the messages' package, which lives in another module. Without
// the option the plugin generates exactly what the stock one does.
var grpcSeparatePackage = []GoEdit{ //nolint:gochecknoglobals // read-only table
	{
		File: "main.go",
		Old:  "\trequireUnimplemented = flags.Bool(",
		New:  "\tseparatePackage = flags.Bool(\"separate_package\", false, \"set to true to write the stubs to a package of their own, next to the messages' package\")\n\trequireUnimplemented = flags.Bool(",
	},
	{
		File: "grpc.go",
		Old:  "\tfilename := file.GeneratedFilenamePrefix + \"_grpc.pb.go\"\n",
		New:  "\tif *separatePackage {\n\t\tmoveToOwnPackage(file)\n\t}\n\tfilename := file.GeneratedFilenamePrefix + \"_grpc.pb.go\"\n",
	},
	{
		File: "lathe_separate_package.go",
		New: `package main

import (
	"path"

	"google.golang.org/protobuf/compiler/protogen"
)

var separatePackage *bool

// moveToOwnPackage makes file's stubs a package of their own, {name}grpc, in a
// directory of that name below the messages' package: the messages keep their own
// import path, so the stubs import them.
func moveToOwnPackage(file *protogen.File) {
	name := file.GoPackageName + "grpc"
	file.GeneratedFilenamePrefix = path.Join(path.Dir(file.GeneratedFilenamePrefix), string(name), path.Base(file.GeneratedFilenamePrefix))
	file.GoImportPath = protogen.GoImportPath(path.Join(string(file.GoImportPath), string(name)))
	file.GoPackageName = name
}
`,
	},
}
