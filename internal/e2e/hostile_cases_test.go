package e2e

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

const (
	modulePkg = "/buf.registry.module.v1."
	goPrefix  = "/gen/go/127.0.0.1/gen/go/"
	npmPrefix = "/gen/npm/v1/"
	pyPrefix  = "/gen/python/simple/"
)

func (h *hostileEnv) cases() []hostileCase {
	var cs []hostileCase
	add := func(c ...hostileCase) { cs = append(cs, c...) }
	q := regexp.QuoteMeta
	proto := http.Header{"Content-Type": {"application/proto"}, "Authorization": {"Bearer " + h.alice}}
	with := func(hd http.Header, kv ...string) http.Header {
		out := hd.Clone()
		for i := 0; i < len(kv); i += 2 {
			out.Set(kv[i], kv[i+1])
		}
		return out
	}
	aliceJSON := jsonHeader(h.alice)
	bobJSON := jsonHeader(h.bob)
	anonJSON := jsonHeader("")
	upload := modulePkg + "UploadService/Upload"
	goodFile := "syntax = \"proto3\";\npackage pub.v1;\nmessage Pub { string name = 1; }\n"
	pubUpload := func(files any) []byte {
		return []byte(uploadJSON("alice", "pub", files, nil))
	}
	// Cases that the server may wrongly accept push to a module nothing else reads.
	scratchUpload := func(files any) []byte {
		return []byte(uploadJSON("alice", "scratch", files, nil))
	}

	// Connect protocol: frames, encodings, sizes, timeouts.
	add(
		hostileCase{name: "connect/garbage-proto", path: upload, header: proto, body: []byte("\xff\xff\xff\xff"),
			status: 400, code: "invalid_argument", msg: "unmarshal"},
		hostileCase{name: "connect/bad-json", path: upload, header: aliceJSON, body: []byte("{"),
			status: 400, code: "invalid_argument", msg: "unmarshal"},
		hostileCase{name: "connect/json-wrong-type", path: upload, header: aliceJSON, body: []byte(`{"contents":"x"}`),
			status: 400, code: "invalid_argument", msg: "unmarshal"},
		hostileCase{name: "connect/json-unknown-field", path: upload, header: aliceJSON, body: []byte(`{"nope":1}`),
			status: 400, code: "invalid_argument", msg: "no module contents"},
		hostileCase{name: "connect/unknown-content-type", path: upload, header: http.Header{"Content-Type": {"text/plain"}}, body: []byte("x"),
			status: 415},
		hostileCase{name: "connect/gzip-not-gzip", path: upload, header: with(aliceJSON, "Content-Encoding", "gzip"), body: []byte("{}"),
			status: 400, code: "invalid_argument", msg: "gzip|decompress"},
		hostileCase{name: "connect/unknown-encoding", path: upload, header: with(aliceJSON, "Content-Encoding", "br"), body: []byte("{}"),
			status: 501, code: "unimplemented", msg: "br"},
		hostileCase{name: "connect/gzip-bomb", path: upload, header: with(proto, "Content-Encoding", "gzip"), body: gzipBomb(256 << 20),
			status: 429, code: "resource_exhausted", msg: "larger than|exceeds"},
		hostileCase{name: "connect/oversized", path: upload, header: proto, body: make([]byte, 40<<20),
			status: 429, code: "resource_exhausted", msg: "exceeded 33554432 byte"},
		hostileCase{name: "connect/timeout-letters", path: upload, header: with(aliceJSON, "Connect-Timeout-Ms", "abc"), body: []byte("{}"),
			status: 400, code: "invalid_argument", msg: "timeout"},
		hostileCase{name: "connect/timeout-11-digits", path: upload, header: with(aliceJSON, "Connect-Timeout-Ms", "12345678901"), body: []byte("{}"),
			status: 400, code: "invalid_argument", msg: "timeout"},
		hostileCase{name: "connect/timeout-negative", path: upload, header: with(aliceJSON, "Connect-Timeout-Ms", "-5"), body: []byte("{}"),
			status: 400, code: "invalid_argument", msg: "timeout"},
		hostileCase{name: "connect/protocol-version-2", path: upload, header: with(aliceJSON, "Connect-Protocol-Version", "2"), body: []byte("{}"),
			status: 400, code: "invalid_argument", msg: "Connect-Protocol-Version must be \"1\""},
		hostileCase{name: "connect/get-on-post-only", path: upload, status: 405},
		hostileCase{name: "connect/get-side-effects", path: upload + "?encoding=json&message=%7B%7D&connect=v1", status: 405},
		hostileCase{name: "connect/unknown-method", path: modulePkg + "UploadService/Nope", header: aliceJSON, body: []byte("{}"), status: 404},
		hostileCase{name: "connect/unknown-service", path: "/evil.v1.Service/Do", header: aliceJSON, body: []byte("{}"), status: 404},
		hostileCase{name: "connect/deep-json", path: upload, header: aliceJSON,
			body:   []byte(`{"contents":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}`),
			status: 400, code: "invalid_argument", msg: "unmarshal"},
		hostileCase{name: "connect/json-million-files", path: upload, header: aliceJSON,
			body:   []byte(`{"contents":[{"moduleRef":{"name":{"owner":"alice","module":"pub"}},"files":[` + strings.TrimSuffix(strings.Repeat("{},", 1000000), ",") + `]}]}`),
			status: 400, code: "invalid_argument", msg: "1000000 files, more than the limit of 20000"},
		hostileCase{name: "connect/huge-header", path: upload, header: with(aliceJSON, "X-Junk", strings.Repeat("x", 2<<20)), body: []byte("{}"),
			status: 431},
		hostileCase{name: "connect/huge-url", path: modulePkg + "CommitService/GetCommits?" + strings.Repeat("a", 2<<20), status: 431},
	)

	// Upload paths: traversal and every other path that is not a clean relative one.
	for _, p := range []string{"../evil.proto", "/abs.proto", "a/../../evil.proto", "a/./b.proto", "a//b.proto",
		"./a.proto", `a\b.proto`, "", "a.proto\x00x", "C:/a.proto", strings.Repeat("a/", 3000) + "x.proto",
		"a/b.proto/", "..", "a/..", "pub/v1/../../../etc/passwd.proto"} {
		msg := q(p)
		if len(p) > 40 || strings.ContainsAny(p, "\x00") || p == "" {
			msg = "path"
		}
		add(hostileCase{name: fmt.Sprintf("upload-path/%q", trimName(p)), path: upload, header: aliceJSON,
			body:   pubUpload([][2]string{{"pub/v1/pub.proto", goodFile}, {p, goodFile}}),
			status: 400, code: "invalid_argument", msg: msg})
	}

	// Upload content: bombs and other files that must not be stored.
	add(
		hostileCase{name: "upload/deep-nesting", path: upload, header: aliceJSON,
			body:   pubUpload(map[string]string{"pub/v1/deep.proto": "syntax = \"proto3\";\npackage pub.v1;\n" + strings.Repeat("message A { ", 10000) + strings.Repeat("}", 10000)}),
			status: 400, code: "invalid_argument", msg: q("pub/v1/deep.proto:3:779: nesting is deeper than 64 levels"), maxRSS: 256 << 20},
		hostileCase{name: "upload/unclosed-messages-100k", path: upload, header: aliceJSON,
			body:   pubUpload(map[string]string{"pub/v1/bomb.proto": "syntax = \"proto3\";\npackage pub.v1;\n" + strings.Repeat("message A { ", 100000)}),
			status: 400, code: "invalid_argument", msg: q("pub/v1/bomb.proto"), maxRSS: 256 << 20},
		hostileCase{name: "upload/unclosed-enum-200k-values", path: upload, header: aliceJSON,
			body:   pubUpload(map[string]string{"pub/v1/enum.proto": "syntax = \"proto3\";\npackage pub.v1;\nenum E { " + strings.Repeat("V = 0; ", 200000)}),
			status: 400, code: "invalid_argument", msg: "pub/v1/enum\\.proto:.*more than 524288 tokens", maxRSS: 256 << 20},
		hostileCase{name: "upload/token-soup", path: upload, header: aliceJSON,
			body:   pubUpload(map[string]string{"pub/v1/soup.proto": strings.Repeat("a ", 1500000)}),
			status: 400, code: "invalid_argument", msg: "pub/v1/soup\\.proto:.*more than 524288 tokens", maxRSS: 256 << 20},
		hostileCase{name: "upload/file-over-4MiB", path: upload, header: aliceJSON,
			body:   pubUpload(map[string]string{"pub/v1/big.proto": goodFile + "//" + strings.Repeat("x", 4<<20)}),
			status: 400, code: "invalid_argument", msg: "big.proto: file is .* bytes, more than the limit of 4194304"},
		hostileCase{name: "upload/syntax-error", path: upload, header: aliceJSON,
			body:   pubUpload(map[string]string{"pub/v1/pub.proto": "syntax = \"proto3\";\nmessage {"}),
			status: 400, code: "invalid_argument", msg: q("pub/v1/pub.proto:2:")},
		hostileCase{name: "upload/missing-import", path: upload, header: aliceJSON,
			body:   pubUpload(map[string]string{"pub/v1/pub.proto": "syntax = \"proto3\";\nimport \"nowhere.proto\";\n"}),
			status: 400, code: "invalid_argument", msg: "nowhere.proto"},
		hostileCase{name: "upload/not-utf8-readme", path: upload, header: proto,
			body:   uploadProto("alice", "pub", [][2]string{{"pub/v1/pub.proto", goodFile}, {"README.md", "caf\xe9"}}),
			status: 400, code: "invalid_argument", msg: "README.md.*UTF-8"},
		hostileCase{name: "upload/not-utf8-path", path: upload, header: proto,
			body:   uploadProto("alice", "pub", [][2]string{{"pub/v1/pub.proto", goodFile}, {"pub/\xff.proto", goodFile}}),
			status: 400, code: "invalid_argument", msg: "UTF-8|unmarshal"},
		hostileCase{name: "upload/20000-files-one-bad", path: upload, header: aliceJSON,
			body:   pubUpload(manyFiles(20000)),
			status: 400, code: "invalid_argument", msg: q("pub/v1/f19999.proto")},
		hostileCase{name: "upload/no-files", path: upload, header: aliceJSON, body: pubUpload(map[string]string{}),
			status: 400, code: "invalid_argument", msg: "file"},
		hostileCase{name: "upload/duplicate-path", path: upload, header: aliceJSON,
			body:   pubUpload([][2]string{{"pub/v1/pub.proto", goodFile}, {"pub/v1/pub.proto", goodFile}}),
			status: 400, code: "invalid_argument", msg: q("pub/v1/pub.proto")},
	)
	// Well-known types shadowed and paths that differ only in case break SDKs.
	for _, wkt := range []string{"google/protobuf/any.proto", "google/protobuf/timestamp.proto", "google/protobuf/descriptor.proto"} {
		add(hostileCase{name: "upload/shadows-" + wkt, path: upload, header: aliceJSON,
			body:   scratchUpload(map[string]string{"pub/v1/pub.proto": goodFile, wkt: "syntax = \"proto3\";\npackage google.protobuf;\nmessage Evil {}\n"}),
			status: 400, code: "invalid_argument", msg: q(wkt)})
	}
	for _, pair := range [][2]string{{"pub/v1/Case.proto", "pub/v1/case.proto"}, {"pub/V1/a.proto", "pub/v1/b.proto"}, {"Pub/v1/a.proto", "pub/v1/a.proto"}} {
		add(hostileCase{name: "upload/case-collision-" + pair[0], path: upload, header: aliceJSON,
			body: scratchUpload(map[string]string{
				pair[0]: "syntax = \"proto3\";\npackage x.v1;\nmessage X {}\n",
				pair[1]: "syntax = \"proto3\";\npackage y.v1;\nmessage Y {}\n"}),
			status: 400, code: "invalid_argument", msg: q(pair[0])})
	}

	// Visibility: a public module may not import a private one.
	add(hostileCase{name: "visibility/public-imports-private", path: upload, header: aliceJSON,
		body: []byte(uploadJSON("alice", "pubdep", map[string]string{
			"pubdep/v1/d.proto": "syntax = \"proto3\";\npackage pubdep.v1;\nimport \"priv/v1/priv.proto\";\nmessage D { priv.v1.Priv p = 1; }\n"},
			[]string{h.privCommit})),
		status: 400, code: "failed_precondition|invalid_argument", msg: "private"})

	// Ids: malformed, and private ones answered exactly as ids that name nothing.
	rnd := randomID()
	add(
		hostileCase{name: "ids/upload-dep-not-hex", path: upload, header: aliceJSON,
			body:   []byte(uploadJSON("alice", "pub", map[string]string{"pub/v1/pub.proto": goodFile}, []string{"../../etc/passwd"})),
			status: 400, code: "invalid_argument", msg: "passwd"},
		hostileCase{name: "ids/upload-dep-random", path: upload, header: bobJSON,
			body:   []byte(uploadJSON("bob", "nope", map[string]string{"pub/v1/pub.proto": goodFile}, []string{rnd})),
			status: 404, code: "not_found", id: rnd},
		hostileCase{name: "ids/get-commits-not-hex", path: modulePkg + "CommitService/GetCommits", header: anonJSON,
			body: []byte(`{"resourceRefs":[{"id":"zz"}]}`), status: 400, code: "invalid_argument", msg: "zz"},
		hostileCase{name: "ids/get-commits-empty", path: modulePkg + "CommitService/GetCommits", header: anonJSON,
			body: []byte(`{"resourceRefs":[{}]}`), status: 400, code: "invalid_argument"},
		hostileCase{name: "ids/get-commits-2000-refs", path: modulePkg + "CommitService/GetCommits", header: anonJSON,
			body: []byte(`{"resourceRefs":[` + strings.TrimSuffix(strings.Repeat(`{"id":"`+rnd+`"},`, 2000), ",") + `]}`), status: 400, code: "invalid_argument"},
	)
	oracle := func(name, method, tmpl, private string, hd http.Header) {
		r := randomID()
		add(hostileCase{name: name + "/random", path: modulePkg + method, header: hd, body: []byte(fmt.Sprintf(tmpl, r)),
			status: 404, code: "not_found", id: r},
			hostileCase{name: name + "/private", path: modulePkg + method, header: hd, body: []byte(fmt.Sprintf(tmpl, private)),
				status: 404, code: "not_found", id: private, sameAs: name + "/random"})
	}
	for _, who := range []struct {
		name string
		hd   http.Header
	}{{"anon", anonJSON}, {"bob", bobJSON}} {
		oracle("oracle-"+who.name+"/commit", "CommitService/GetCommits", `{"resourceRefs":[{"id":"%s"}]}`, h.privCommit, who.hd)
		oracle("oracle-"+who.name+"/label", "LabelService/GetLabels", `{"labelRefs":[{"id":"%s"}]}`, h.privLabel, who.hd)
		oracle("oracle-"+who.name+"/module", "ModuleService/GetModules", `{"moduleRefs":[{"id":"%s"}]}`, h.privModule, who.hd)
		oracle("oracle-"+who.name+"/resource", "ResourceService/GetResources", `{"resourceRefs":[{"id":"%s"}]}`, h.privCommit, who.hd)
		oracle("oracle-"+who.name+"/graph", "GraphService/GetGraph", `{"resourceRefs":[{"id":"%s"}]}`, h.privCommit, who.hd)
		oracle("oracle-"+who.name+"/download", "DownloadService/Download", `{"values":[{"resourceRef":{"id":"%s"}}]}`, h.privCommit, who.hd)
		oracle("oracle-"+who.name+"/module-name", "ModuleService/GetModules", `{"moduleRefs":[{"name":{"owner":"alice","module":"%s"}}]}`, "priv", who.hd)
		oracle("oracle-"+who.name+"/list-commits", "CommitService/ListCommits", `{"resourceRef":{"name":{"owner":"alice","module":"%s"}}}`, "priv", who.hd)
	}

	// Label names follow the BSR's rules.
	labelRPC := modulePkg + "LabelService/CreateOrUpdateLabels"
	for _, l := range []string{"..", "../../etc/passwd", ".", "", "a/../b", "/abs", "trailing/", "a//b", strings.Repeat("x", 251),
		"has space", "tab\there", "nul\x00", "new\nline", h.pubCommit} {
		body := fmt.Sprintf(`{"values":[{"labelRef":{"name":{"owner":"alice","module":"pub","label":%s}},"commitId":"%s"}]}`, jsonString(l), h.pubCommit)
		add(hostileCase{name: fmt.Sprintf("label/%q", trimName(l)), path: labelRPC, header: aliceJSON, body: []byte(body),
			status: 400, code: "invalid_argument", msg: "label"})
	}
	// Module names, too.
	for _, m := range []string{"..", "../etc", "a/b", "", strings.Repeat("x", 200), "-lead", "a b", "nul\x00", ".hidden", "UPPER"} {
		body := fmt.Sprintf(`{"values":[{"ownerRef":{"name":"alice"},"name":%s,"visibility":"MODULE_VISIBILITY_PUBLIC"}]}`, jsonString(m))
		add(hostileCase{name: fmt.Sprintf("module-name/%q", trimName(m)), path: modulePkg + "ModuleService/CreateModules", header: aliceJSON, body: []byte(body),
			status: 400, code: "invalid_argument", msg: "name"})
	}
	for _, o := range []string{"..", "../alice", "ALICE", "", "alice/../bob"} {
		add(hostileCase{name: fmt.Sprintf("owner-name/%q", o), path: upload, header: aliceJSON,
			body:   []byte(uploadJSON(o, "nope", map[string]string{"pub/v1/pub.proto": goodFile}, nil)),
			status: 404, code: "not_found", msg: "/nope\" not found"})
	}

	// Tokens on every RPC: an invalid one is refused before anything else happens.
	rpcs := []struct{ method, body string }{
		{"UploadService/Upload", "{}"}, {"ModuleService/CreateModules", "{}"}, {"ModuleService/GetModules", "{}"},
		{"ModuleService/ListModules", "{}"}, {"ModuleService/UpdateModules", "{}"}, {"ModuleService/DeleteModules", "{}"},
		{"CommitService/GetCommits", "{}"}, {"CommitService/ListCommits", "{}"}, {"LabelService/GetLabels", "{}"},
		{"LabelService/CreateOrUpdateLabels", "{}"}, {"LabelService/ArchiveLabels", "{}"}, {"GraphService/GetGraph", "{}"},
		{"DownloadService/Download", "{}"}, {"ResourceService/GetResources", "{}"},
	}
	bad := jsonHeader("not-a-token")
	for _, r := range rpcs {
		add(hostileCase{name: "bad-token/" + r.method, path: modulePkg + r.method, header: bad, body: []byte(r.body),
			status: 401, code: "unauthenticated", msg: "token"})
	}
	for _, m := range []string{"lathe.plugin.v1.PluginService/PushPlugin", "lathe.sdk.v1.SDKService/GenerateSDK", "lathe.sdk.v1.SDKService/ListJobs",
		"buf.alpha.registry.v1alpha1.CodeGenerationService/GenerateCode", "buf.alpha.registry.v1alpha1.AuthnService/GetCurrentUser",
		"buf.registry.owner.v1.OwnerService/GetOwners"} {
		add(hostileCase{name: "bad-token/" + m, path: "/" + m, header: bad, body: []byte("{}"),
			status: 401, code: "unauthenticated", msg: "token"})
	}
	for _, a := range []string{"Basic " + b64("alice:not-a-token"), "Bearer", "Bearer ", "bearer " + h.alice + "x", "Token " + h.alice, "Bearer " + strings.Repeat("A", 4096)} {
		hd := jsonHeader("")
		hd.Set("Authorization", a)
		add(hostileCase{name: fmt.Sprintf("bad-auth-header/%q", trimName(a)), path: modulePkg + "ModuleService/ListModules", header: hd, body: []byte("{}"),
			status: 401, code: "unauthenticated"})
	}
	// Writes want a token.
	for _, w := range []struct{ method, body string }{
		{modulePkg + "UploadService/Upload", uploadJSON("alice", "pub", map[string]string{"pub/v1/pub.proto": goodFile}, nil)},
		{modulePkg + "ModuleService/CreateModules", `{"values":[{"ownerRef":{"name":"alice"},"name":"anon"}]}`},
		{labelRPC, fmt.Sprintf(`{"values":[{"labelRef":{"name":{"owner":"alice","module":"pub","label":"x"}},"commitId":"%s"}]}`, h.pubCommit)},
		{modulePkg + "LabelService/ArchiveLabels", `{"labelRefs":[{"name":{"owner":"alice","module":"pub","label":"main"}}]}`},
		{modulePkg + "ModuleService/UpdateModules", `{"values":[{"moduleRef":{"name":{"owner":"alice","module":"pub"}},"visibility":"MODULE_VISIBILITY_PRIVATE"}]}`},
		{modulePkg + "ModuleService/DeleteModules", `{"moduleRefs":[{"name":{"owner":"alice","module":"pub"}}]}`},
		{"/lathe.plugin.v1.PluginService/PushPlugin", `{"config":"` + b64("version: v1\nname: buf.build/alice/x\nplugin_version: v1.0.0\n") + `","runtime":"native","program":"` + b64("#!/bin/sh\n") + `"}`},
		{"/lathe.sdk.v1.SDKService/GenerateSDK", `{"ecosystem":"go","owner":"alice","module":"pub","ref":"main","pluginOwner":"protocolbuffers","plugin":"go"}`},
	} {
		add(hostileCase{name: "anonymous-write/" + w.method, path: w.method, header: anonJSON, body: []byte(w.body),
			status: 401, code: "unauthenticated"})
	}
	// bob writes to alice's modules.
	add(
		hostileCase{name: "bob-write/upload", path: upload, header: bobJSON, body: pubUpload(map[string]string{"pub/v1/pub.proto": goodFile}),
			status: 403, code: "permission_denied"},
		hostileCase{name: "bob-write/label", path: labelRPC, header: bobJSON,
			body:   []byte(fmt.Sprintf(`{"values":[{"labelRef":{"name":{"owner":"alice","module":"pub","label":"x"}},"commitId":"%s"}]}`, h.pubCommit)),
			status: 403, code: "permission_denied"},
		hostileCase{name: "bob-write/create-for-alice", path: modulePkg + "ModuleService/CreateModules", header: bobJSON,
			body: []byte(`{"values":[{"ownerRef":{"name":"alice"},"name":"bobs"}]}`), status: 403, code: "permission_denied"},
		hostileCase{name: "bob-write/plugin-as-alice", path: "/lathe.plugin.v1.PluginService/PushPlugin", header: bobJSON,
			body:   []byte(`{"config":"` + b64("version: v1\nname: buf.build/alice/x\nplugin_version: v1.0.0\n") + `","runtime":"native","program":"` + b64("#!/bin/sh\n") + `"}`),
			status: 403, code: "permission_denied", msg: "bob"},
		hostileCase{name: "bob-write/generate-private", path: "/lathe.sdk.v1.SDKService/GenerateSDK", header: bobJSON,
			body:   []byte(`{"ecosystem":"cargo","owner":"alice","module":"priv","ref":"main","pluginOwner":"lathe","plugin":"prost"}`),
			status: 404, code: "not_found"},
		hostileCase{name: "bob-write/plugin-bad-yaml", path: "/lathe.plugin.v1.PluginService/PushPlugin", header: bobJSON,
			body:   []byte(`{"config":"` + b64("{{{{") + `","runtime":"native","program":"` + b64("x") + `"}`),
			status: 400, code: "invalid_argument"},
		hostileCase{name: "bob-write/plugin-bad-runtime", path: "/lathe.plugin.v1.PluginService/PushPlugin", header: bobJSON,
			body:   []byte(`{"config":"` + b64("version: v1\nname: buf.build/bob/x\nplugin_version: v1.0.0\n") + `","runtime":"../../bin/sh","program":"` + b64("x") + `"}`),
			status: 400, code: "invalid_argument", msg: "runtime"},
		hostileCase{name: "bob-write/plugin-bad-version", path: "/lathe.plugin.v1.PluginService/PushPlugin", header: bobJSON,
			body:   []byte(`{"config":"` + b64("version: v1\nname: buf.build/bob/x\nplugin_version: ../../x\n") + `","runtime":"native","program":"` + b64("x") + `"}`),
			status: 400, code: "invalid_argument", msg: "version"},
	)

	// gRPC and gRPC-Web frames.
	grpcHd := func(kv ...string) http.Header {
		hd := http.Header{"Content-Type": {"application/grpc"}, "Te": {"trailers"}}
		for i := 0; i < len(kv); i += 2 {
			hd.Set(kv[i], kv[i+1])
		}
		return hd
	}
	getCommits := modulePkg + "CommitService/GetCommits"
	add(
		hostileCase{name: "grpc/truncated-envelope", h2c: true, path: getCommits, header: grpcHd(), body: envelope(0, 100, []byte("abcde")),
			status: 200, code: "internal", msg: "protocol error: promised 100 bytes in enveloped message, got 5 bytes"},
		hostileCase{name: "grpc/truncated-prefix", h2c: true, path: getCommits, header: grpcHd(), body: []byte{0, 0},
			status: 200, code: "internal", msg: "protocol error: incomplete envelope"},
		hostileCase{name: "grpc/compressed-flag-no-encoding", h2c: true, path: getCommits, header: grpcHd(), body: envelope(1, 2, []byte("ab")),
			status: 200, code: "internal", msg: "compressed"},
		hostileCase{name: "grpc/unknown-encoding", h2c: true, path: getCommits, header: grpcHd("Grpc-Encoding", "snappy"), body: envelope(1, 2, []byte("ab")),
			status: 200, code: "unimplemented", msg: "snappy"},
		hostileCase{name: "grpc/length-2GiB", h2c: true, path: getCommits, header: grpcHd(), body: envelope(0, 1<<31-1, []byte("ab")),
			status: 200, code: "resource_exhausted", msg: "larger than|exceeds"},
		hostileCase{name: "grpc/garbage", h2c: true, path: getCommits, header: grpcHd(), body: envelope(0, 4, []byte("\xff\xff\xff\xff")),
			status: 200, code: "invalid_argument", msg: "unmarshal"},
		hostileCase{name: "grpc/gzip-bomb", h2c: true, path: getCommits, header: grpcHd("Grpc-Encoding", "gzip"), body: func() []byte {
			b := gzipBomb(256 << 20)
			return envelope(1, uint32(len(b)), b)
		}(), status: 200, code: "resource_exhausted", msg: "larger than|exceeds"},
		hostileCase{name: "grpc/gzip-corrupt", h2c: true, path: getCommits, header: grpcHd("Grpc-Encoding", "gzip"), body: envelope(1, 4, []byte("nope")),
			status: 200, code: "internal|invalid_argument", msg: "decompress|gzip"},
		hostileCase{name: "grpc/timeout-letters", h2c: true, path: getCommits, header: grpcHd("Grpc-Timeout", "abc"), body: envelope(0, 0, nil),
			status: 200, code: "invalid_argument", msg: "timeout"},
		hostileCase{name: "grpc/timeout-9-digits", h2c: true, path: getCommits, header: grpcHd("Grpc-Timeout", "999999999H"), body: envelope(0, 0, nil),
			status: 200, code: "invalid_argument", msg: "timeout"},
		hostileCase{name: "grpc/two-messages-unary", h2c: true, path: getCommits, header: grpcHd(), body: append(envelope(0, 0, nil), envelope(0, 0, nil)...),
			status: 200, code: "unknown|invalid_argument|unimplemented", msg: "message"},
		hostileCase{name: "grpc/bad-token", h2c: true, path: getCommits, header: grpcHd("Authorization", "Bearer not-a-token"), body: envelope(0, 0, nil),
			status: 200, code: "unauthenticated", msg: "token"},
		hostileCase{name: "grpc/random-commit-anon", h2c: true, path: getCommits, header: grpcHd(),
			body: func() []byte { b := getCommitsProto(rnd); return envelope(0, uint32(len(b)), b) }(), id: rnd,
			status: 200, code: "not_found"},
		hostileCase{name: "grpc/private-commit-anon", h2c: true, path: getCommits, header: grpcHd(),
			body: func() []byte { b := getCommitsProto(h.privCommit); return envelope(0, uint32(len(b)), b) }(), id: h.privCommit,
			status: 200, code: "not_found", sameAs: "grpc/random-commit-anon"},
		hostileCase{name: "grpc-web/truncated-envelope", path: getCommits, header: http.Header{"Content-Type": {"application/grpc-web+proto"}}, body: envelope(0, 100, []byte("abc")),
			status: 200, code: "internal", msg: "protocol error: promised 100 bytes in enveloped message, got 3 bytes"},
		hostileCase{name: "grpc-web/bad-token", path: getCommits, header: http.Header{"Content-Type": {"application/grpc-web+proto"}, "Authorization": {"Bearer not-a-token"}}, body: envelope(0, 0, nil),
			status: 200, code: "unauthenticated", msg: "token"},
		hostileCase{name: "grpc-web/unknown-encoding", path: getCommits, header: http.Header{"Content-Type": {"application/grpc-web+proto"}, "Grpc-Encoding": {"zstd"}}, body: envelope(1, 1, []byte("a")),
			status: 200, code: "unimplemented", msg: "zstd"},
		hostileCase{name: "grpc-web/gzip-bomb", path: getCommits, header: http.Header{"Content-Type": {"application/grpc-web+proto"}, "Grpc-Encoding": {"gzip"}}, body: func() []byte {
			b := gzipBomb(256 << 20)
			return envelope(1, uint32(len(b)), b)
		}(), status: 200, code: "resource_exhausted", msg: "larger than|exceeds"},
	)

	// The Go module proxy.
	pubGo := goPrefix + "alice/pub/protocolbuffers/go"
	add(
		hostileCase{name: "go/no-module", path: goPrefix + "alice/nope/protocolbuffers/go/@v/list", status: 404, msg: "not found", id: "nope"},
		hostileCase{name: "go/private-module", path: goPrefix + "alice/priv/protocolbuffers/go/@v/list", status: 404, id: "priv", sameAs: "go/no-module"},
		hostileCase{name: "go/private-module-mod", path: goPrefix + "alice/priv/protocolbuffers/go/@v/" + h.goVersion + ".mod", status: 404, msg: "not found"},
		hostileCase{name: "go/no-module-go-get", path: goPrefix + "alice/nope/protocolbuffers/go?go-get=1", status: 200, msg: "go-import", id: "nope"},
		hostileCase{name: "go/private-go-get", path: goPrefix + "alice/priv/protocolbuffers/go?go-get=1", status: 200, id: "priv", sameAs: "go/no-module-go-get"},
		hostileCase{name: "go/no-plugin", path: goPrefix + "alice/pub/evil/plugin/@v/list", status: 404, msg: "not found"},
		hostileCase{name: "go/bad-version", path: pubGo + "/@v/v9.9.9.info", status: 404, msg: "v9.9.9"},
		hostileCase{name: "go/not-a-version", path: pubGo + "/@v/notaversion.info", status: 404, msg: "notaversion"},
		hostileCase{name: "go/bad-suffix", path: pubGo + "/@v/" + h.goVersion + ".zipx", status: 404},
		hostileCase{name: "go/empty-version", path: pubGo + "/@v/.mod", status: 404},
		hostileCase{name: "go/list-extra", path: pubGo + "/@v/list/x", status: 404},
		hostileCase{name: "go/latest-junk", path: pubGo + "/@latestx", status: 404},
		hostileCase{name: "go/at-v-slash", path: pubGo + "/@v/", status: 404},
		hostileCase{name: "go/version-upper", path: pubGo + "/@v/" + strings.ToUpper(h.goVersion) + ".mod", status: 404},
		hostileCase{name: "go/version-escaped-upper", path: pubGo + "/@v/!v1.0.0.mod", status: 404},
		hostileCase{name: "go/version-10k", path: pubGo + "/@v/v1.0.0-" + strings.Repeat("a", 10000) + ".info", status: 404},
		hostileCase{name: "go/version-traversal", path: pubGo + "/@v/..%2f..%2f..%2fetc%2fpasswd.mod", status: 404},
		hostileCase{name: "go/upper-unescaped", path: goPrefix + "ALICE/pub/protocolbuffers/go/@v/list", status: 404},
		hostileCase{name: "go/upper-unescaped-mod", path: goPrefix + "ALICE/pub/protocolbuffers/go/@v/" + h.goVersion + ".mod", status: 404},
		hostileCase{name: "go/traversal-encoded", path: goPrefix + "%2e%2e/%2e%2e/%2e%2e/etc/passwd/@v/list", status: 404},
		hostileCase{name: "go/traversal-dotdot", path: goPrefix + "alice/pub/../../../../etc/passwd/@v/list", status: 307, msg: q(`href="/gen/go/127.0.0.1/etc/passwd/@v/list"`)},
		hostileCase{name: "go/nul", path: goPrefix + "alice/pub%00/protocolbuffers/go/@v/list", status: 404},
		hostileCase{name: "go/other-module-upstream-off", path: "/gen/go/github.com/evil/x/@v/list", status: 404},
		hostileCase{name: "go/sumdb-own-module", path: "/gen/go/sumdb/sum.golang.org/lookup/127.0.0.1/gen/go/alice/pub/protocolbuffers/go@" + h.goVersion,
			status: 404, msg: "GONOSUMDB"},
		hostileCase{name: "go/bad-basic-auth", path: pubGo + "/@v/list", header: http.Header{"Authorization": {"Basic " + b64("alice:not-a-token")}},
			status: 401, msg: "token"},
		hostileCase{name: "go/bad-bearer", path: pubGo + "/@v/list", header: http.Header{"Authorization": {"Bearer not-a-token"}},
			status: 401, msg: "token"},
	)
	for _, v := range []string{"!alice/pub/protocolbuffers/go", "alice/!pub/protocolbuffers/go", "!a!l!i!c!e/pub/protocolbuffers/go",
		"alice/pub/!protocolbuffers/go", "alice/pub/protocolbuffers/!go", "!alice/!pub/!protocolbuffers/!go"} {
		add(hostileCase{name: "go/case-variant-list/" + v, path: goPrefix + v + "/@v/list", status: 404},
			hostileCase{name: "go/case-variant-mod/" + v, path: goPrefix + v + "/@v/" + h.goVersion + ".mod", status: 404})
	}

	// The Cargo registry.
	add(
		hostileCase{name: "cargo/no-crate", path: "/gen/cargo/al/ic/alice_nope_lathe_prost", status: 404, msg: "no crate", id: "nope"},
		hostileCase{name: "cargo/private-crate-anon", path: "/gen/cargo/al/ic/alice_priv_lathe_prost", status: 404, id: "priv", sameAs: "cargo/no-crate"},
		hostileCase{name: "cargo/private-crate-bob", path: "/gen/cargo/auth/al/ic/alice_priv_lathe_prost", header: http.Header{"Authorization": {"Bearer " + h.bob}}, status: 404, msg: "no crate"},
		hostileCase{name: "cargo/wrong-prefix", path: "/gen/cargo/zz/zz/alice_pub_lathe_prost", status: 404},
		hostileCase{name: "cargo/upper-case", path: "/gen/cargo/al/ic/Alice_Pub_lathe_prost", status: 404},
		hostileCase{name: "cargo/dashes", path: "/gen/cargo/al/ic/alice-pub-lathe-prost", status: 404},
		hostileCase{name: "cargo/traversal", path: "/gen/cargo/al/ic/..%2f..%2f..%2fetc%2fpasswd", status: 404},
		hostileCase{name: "cargo/long-name", path: "/gen/cargo/al/ic/alice_" + strings.Repeat("x", 5000), status: 404},
		hostileCase{name: "cargo/nul", path: "/gen/cargo/al/ic/alice_pub%00_lathe_prost", status: 404},
		hostileCase{name: "cargo/auth-no-token", path: "/gen/cargo/auth/al/ic/alice_priv_lathe_prost", status: 401, msg: "token"},
		hostileCase{name: "cargo/auth-bad-token", path: "/gen/cargo/auth/al/ic/alice_priv_lathe_prost", header: http.Header{"Authorization": {"Bearer not-a-token"}}, status: 401, msg: "invalid token"},
		hostileCase{name: "cargo/auth-config-no-token", path: "/gen/cargo/auth/config.json", status: 401, msg: "needs a token"},
	)
	dl := func(crate, version string) string {
		p := strings.NewReplacer("{crate}", crate, "{version}", version, "{prefix}", "al/ic", "{lowerprefix}", "al/ic").Replace(h.cargoDL)
		if !strings.Contains(h.cargoDL, "{crate}") {
			p += "/" + crate + "/" + version + "/download"
		}
		return p
	}
	fake := "0.14.6-20260101000000-" + randomID()[:12] + ".1"
	add(
		hostileCase{name: "cargo/download-no-version", path: dl("alice_priv_lathe_prost", fake), status: 404, id: fake},
		hostileCase{name: "cargo/download-private-anon", path: dl("alice_priv_lathe_prost", h.privCrateVersion), status: 404, id: h.privCrateVersion,
			sameAs: "cargo/download-no-version"},
		hostileCase{name: "cargo/download-private-bob", path: dl("alice_priv_lathe_prost", h.privCrateVersion), header: http.Header{"Authorization": {"Bearer " + h.bob}},
			status: 404, id: h.privCrateVersion, sameAs: "cargo/download-no-version"},
		hostileCase{name: "cargo/download-traversal", path: dl("alice_pub_lathe_prost", "..%2f..%2fetc%2fpasswd"), status: 404},
		hostileCase{name: "cargo/download-bad-version", path: dl("alice_pub_lathe_prost", "not-a-version"), status: 404},
		hostileCase{name: "cargo/download-private-msg", path: dl("alice_priv_lathe_prost", h.privCrateVersion), status: 404,
			msg: q("cargo package alice_priv_lathe_prost " + h.privCrateVersion + " not found"), hide: []string{h.privModule, h.privCommit}},
	)

	// The npm registry.
	add(
		hostileCase{name: "npm/no-package", path: npmPrefix + "@lathe%2falice_nope.lathe_prost", status: 404, msg: "not found|no package", id: "nope"},
		hostileCase{name: "npm/private-package-anon", path: npmPrefix + "@lathe%2falice_priv.lathe_prost", status: 404, id: "priv", sameAs: "npm/no-package"},
		hostileCase{name: "npm/private-package-bob", path: npmPrefix + "@lathe%2falice_priv.lathe_prost", header: http.Header{"Authorization": {"Bearer " + h.bob}}, status: 404, id: "priv", sameAs: "npm/no-package"},
		hostileCase{name: "npm/slash-form", path: npmPrefix + "@lathe/alice_nope.lathe_prost", status: 404},
		hostileCase{name: "npm/unscoped", path: npmPrefix + "lodash", status: 404},
		hostileCase{name: "npm/other-scope", path: npmPrefix + "@evil%2fx", status: 404},
		hostileCase{name: "npm/traversal-scope", path: npmPrefix + "@lathe%2f..%2f..%2fetc%2fpasswd", status: 404},
		hostileCase{name: "npm/upper", path: npmPrefix + "@lathe%2fAlice_Pub.Protocolbuffers_Go", status: 404},
		hostileCase{name: "npm/tarball-traversal", path: npmPrefix + "@lathe/alice_pub.x/-/..%2f..%2f..%2fetc%2fpasswd.tgz", status: 404},
		hostileCase{name: "npm/tarball-name-mismatch", path: npmPrefix + "@lathe/alice_pub.lathe_prost/-/other-1.0.0.tgz", status: 404},
		hostileCase{name: "npm/tarball-private", path: npmPrefix + "@lathe/alice_priv.lathe_prost/-/alice_priv.lathe_prost-" + h.privCrateVersion + ".tgz", status: 404},
		hostileCase{name: "npm/tarball-bad-version", path: npmPrefix + "@lathe/alice_pub.lathe_prost/-/alice_pub.lathe_prost-..tgz", status: 404},
		hostileCase{name: "npm/bad-token", path: npmPrefix + "@lathe%2falice_pub.lathe_prost", header: http.Header{"Authorization": {"Bearer not-a-token"}}, status: 401, msg: "token"},
		hostileCase{name: "npm/publish", method: http.MethodPut, path: npmPrefix + "@lathe%2fevil", header: http.Header{"Authorization": {"Bearer " + h.bob}}, body: []byte("{}"), status: 405},
		hostileCase{name: "npm/long-name", path: npmPrefix + "@lathe%2f" + strings.Repeat("x", 5000), status: 404},
	)

	// The Python simple index.
	add(
		hostileCase{name: "python/no-project", path: pyPrefix + "alice-nope-lathe-prost/", status: 404, id: "nope"},
		hostileCase{name: "python/private-project-anon", path: pyPrefix + "alice-priv-lathe-prost/", status: 404, id: "priv", sameAs: "python/no-project"},
		hostileCase{name: "python/private-project-bob", path: pyPrefix + "alice-priv-lathe-prost/", header: http.Header{"Authorization": {"Basic " + b64("bob:"+h.bob)}}, status: 404, id: "priv", sameAs: "python/no-project"},
		hostileCase{name: "python/no-project-unnormalized", path: pyPrefix + "Alice_Nope.Lathe-Prost/", status: 301, msg: q(`href="/gen/python/simple/alice-<ID>-lathe-prost/"`), id: "nope"},
		hostileCase{name: "python/private-unnormalized", path: pyPrefix + "Alice_Priv.Lathe-Prost/", status: 301, id: "priv", sameAs: "python/no-project-unnormalized"},
		hostileCase{name: "python/traversal", path: pyPrefix + "..%2f..%2fetc%2fpasswd/", status: 404},
		hostileCase{name: "python/nul", path: pyPrefix + "alice%00/", status: 404},
		hostileCase{name: "python/long-name", path: pyPrefix + strings.Repeat("x", 5000) + "/", status: 404},
		hostileCase{name: "python/bad-basic-auth", path: pyPrefix + "alice-pub-lathe-prost/", header: http.Header{"Authorization": {"Basic " + b64("alice:not-a-token")}}, status: 401, msg: "token"},
		hostileCase{name: "python/garbage-basic-auth", path: pyPrefix + "alice-pub-lathe-prost/", header: http.Header{"Authorization": {"Basic !!!"}}, status: 401},
		hostileCase{name: "python/file-traversal", path: "/gen/python/files/..%2f..%2flathe.db", status: 404},
		hostileCase{name: "python/file-private", path: "/gen/python/files/alice_priv_lathe_prost-1.0-py3-none-any.whl", status: 404},
	)
	return cs
}

// manyFiles is n valid files and, last, one that does not compile.
func manyFiles(n int) [][2]string {
	var fs [][2]string
	for i := range n - 1 {
		fs = append(fs, [2]string{fmt.Sprintf("pub/v1/f%d.proto", i), fmt.Sprintf("syntax = \"proto3\";\npackage pub.v1;\nmessage F%d {}\n", i)})
	}
	return append(fs, [2]string{fmt.Sprintf("pub/v1/f%d.proto", n-1), "syntax = \"proto3\";\nmessage {"})
}

func trimName(s string) string {
	if len(s) > 40 {
		return s[:20] + fmt.Sprintf("…(%d bytes)", len(s))
	}
	return s
}

func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
