package e2e

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"

	"github.com/rogpeppe/go-internal/testscript"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

// cmpdir [-descriptors FILE] DIR1 DIR2 checks that two directory trees hold the same
// files with the same bytes.
//
// With -descriptors (a FileDescriptorSet of the inputs and their imports), the
// serialized descriptors protoc-gen-es embeds (fileDesc("…")) are compared as messages
// instead, custom options decoded with the set's extensions: the encoding of a custom
// option inside a descriptor depends on whether the program that last re-encoded it
// knew the option's type (protobuf-go writes a message's oneof fields last), so buf
// running a plugin locally and Lathe running it remotely may differ in that order
// alone. Everything else, inside those lines and out, must still be byte-identical.
func cmdCmpDir(ts *testscript.TestScript, neg bool, args []string) {
	var descriptors string
	if len(args) == 4 && args[0] == "-descriptors" {
		descriptors, args = args[1], args[2:]
	}
	if neg || len(args) != 2 {
		ts.Fatalf("usage: cmpdir [-descriptors FILE] DIR1 DIR2")
	}
	var equalDesc func(a, b []byte) bool
	if descriptors != "" {
		var err error
		equalDesc, err = descriptorComparer(ts.MkAbs(descriptors))
		ts.Check(err)
	}
	read := func(dir string) map[string][]byte {
		files := map[string][]byte{}
		root := ts.MkAbs(dir)
		ts.Check(filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			files[rel], err = os.ReadFile(p)
			return err
		}))
		return files
	}
	a, b := read(args[0]), read(args[1])
	var names []string
	for n := range a {
		names = append(names, n)
	}
	for n := range b {
		if _, ok := a[n]; !ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	if len(names) == 0 {
		ts.Fatalf("cmpdir: both %s and %s are empty", args[0], args[1])
	}
	semantic := 0
	for _, n := range names {
		switch x, y := a[n], b[n]; {
		case x == nil:
			ts.Fatalf("cmpdir: %s is only in %s", n, args[1])
		case y == nil:
			ts.Fatalf("cmpdir: %s is only in %s", n, args[0])
		case bytes.Equal(x, y):
		case equalDesc != nil && sameButDescriptors(x, y, equalDesc):
			semantic++
		default:
			ts.Fatalf("cmpdir: %s differs:\n%s", n, firstDifference(x, y))
		}
	}
	ts.Logf("%d files identical, %d of them with an embedded descriptor identical as a message", len(names), semantic)
}

var fileDescRE = regexp.MustCompile(`fileDesc\("([A-Za-z0-9+/=]*)"`)

// sameButDescriptors reports whether x and y are the same but for embedded descriptors
// that equalDesc finds equal.
func sameButDescriptors(x, y []byte, equalDesc func(a, b []byte) bool) bool {
	mx, my := fileDescRE.FindAllSubmatchIndex(x, -1), fileDescRE.FindAllSubmatchIndex(y, -1)
	if len(mx) == 0 || len(mx) != len(my) {
		return false
	}
	px, py := 0, 0
	for i := range mx {
		if !bytes.Equal(x[px:mx[i][2]], y[py:my[i][2]]) {
			return false
		}
		dx, errx := base64.RawStdEncoding.DecodeString(string(bytes.TrimRight(x[mx[i][2]:mx[i][3]], "=")))
		dy, erry := base64.RawStdEncoding.DecodeString(string(bytes.TrimRight(y[my[i][2]:my[i][3]], "=")))
		if errx != nil || erry != nil || !equalDesc(dx, dy) {
			return false
		}
		px, py = mx[i][3], my[i][3]
	}
	return bytes.Equal(x[px:], y[py:])
}

// descriptorComparer returns a function reporting whether two encoded
// FileDescriptorProtos are equal as messages, options resolved with the extensions of
// the FileDescriptorSet in file.
func descriptorComparer(file string) (func(a, b []byte) bool, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	set := &descriptorpb.FileDescriptorSet{}
	if err := proto.Unmarshal(data, set); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	files, err := protodesc.NewFiles(set)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	opts := proto.UnmarshalOptions{Resolver: dynamicpb.NewTypes(files)}
	return func(a, b []byte) bool {
		fa, fb := &descriptorpb.FileDescriptorProto{}, &descriptorpb.FileDescriptorProto{}
		return opts.Unmarshal(a, fa) == nil && opts.Unmarshal(b, fb) == nil && proto.Equal(fa, fb)
	}, nil
}

// firstDifference shows the first line where x and y differ, and its line number.
func firstDifference(x, y []byte) string {
	lx, ly := bytes.Split(x, []byte("\n")), bytes.Split(y, []byte("\n"))
	for i := 0; i < len(lx) || i < len(ly); i++ {
		var a, b []byte
		if i < len(lx) {
			a = lx[i]
		}
		if i < len(ly) {
			b = ly[i]
		}
		if !bytes.Equal(a, b) {
			return fmt.Sprintf("line %d:\n< %s\n> %s", i+1, a, b)
		}
	}
	return "(a trailing newline)"
}
