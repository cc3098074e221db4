package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/tls"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	modulev1 "buf.build/gen/go/bufbuild/registry/protocolbuffers/go/buf/registry/module/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	_ "modernc.org/sqlite" // the test reads the server's database to see that nothing was stored
)

// hostileCase is one hostile request and the exact answer it must get.
type hostileCase struct {
	name   string
	method string // GET when empty and body is nil, else POST
	path   string
	header http.Header
	body   []byte
	h2c    bool // sent over HTTP/2 without TLS, as gRPC clients do

	status int    // the HTTP status
	code   string // the Connect code (from the JSON error, or grpc-status), "" for none
	msg    string // a regular expression the error message or body must match

	// sameAs names an earlier case whose answer this one must equal, after id (the
	// identifier that differs between them) is replaced: an existence oracle.
	sameAs string
	id     string

	// hide are strings the answer must not contain (internal ids of private things).
	hide []string
	// maxRSS bounds how much the request may raise the server's peak memory.
	maxRSS int64
}

// hostileAnswer is what the server answered, reduced to what cases compare.
type hostileAnswer struct {
	status int
	code   string
	msg    string
	body   string
}

// TestHostile sends every class of hostile request issue 16 names to one real server and
// checks each answer exactly, that the server is still healthy afterwards, and that the
// request stored nothing: no row in any table of the database and no file in the blob
// store (temporary files included) appeared.
func TestHostile(t *testing.T) {
	readSources(t)
	start := time.Now()
	h := newHostileEnv(t)
	cases := h.cases()
	var failed []string
	answers := map[string]hostileAnswer{}
	for _, c := range cases {
		if problems := h.run(c, answers); len(problems) > 0 {
			failed = append(failed, c.name)
			t.Errorf("%s: %s", c.name, strings.Join(problems, "; "))
		}
	}
	t.Logf("hostile suite: %d cases, %d pass, %d fail, in %v",
		len(cases), len(cases)-len(failed), len(failed), time.Since(start).Round(time.Millisecond))
	if len(cases) < 150 {
		t.Errorf("only %d hostile cases, want at least 150", len(cases))
	}
}

// hostileEnv is the server the suite attacks and what setup stored in it.
type hostileEnv struct {
	t        *testing.T
	data     string
	url      string
	host     string // host:port
	alice    string // tokens
	bob      string
	h1, h2   *http.Client
	db       *sql.DB
	pid      int
	baseline string

	pubCommit, privCommit, privModule, privLabel, pubModule string
	privCrateVersion, goVersion, cargoDL                    string
}

func newHostileEnv(t *testing.T) *hostileEnv {
	work := t.TempDir()
	h := &hostileEnv{t: t, data: filepath.Join(work, "data")}
	logFile, err := os.Create(filepath.Join(work, "serve.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		logFile.Close()
		if t.Failed() {
			if b, err := os.ReadFile(logFile.Name()); err == nil && len(b) < 1<<20 {
				t.Logf("lathe serve log:\n%s", b)
			}
		}
	})
	cmd, addr := startServeEnv(t, h.data, logFile, "LATHE_GO_UPSTREAM=off", "LATHE_WASM_CACHE="+wasmCacheDir, "LATHE_LOG_LEVEL=warn")
	t.Cleanup(func() { stopServe(cmd) })
	h.pid = cmd.Process.Pid
	h.host, h.url = addr, "http://"+addr
	h.alice = createUser(t, h.data, "alice")
	h.bob = createUser(t, h.data, "bob")
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	h.h1 = &http.Client{Timeout: 60 * time.Second, CheckRedirect: noRedirect, Transport: &http.Transport{Proxy: nil}}
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	h.h2 = &http.Client{Timeout: 60 * time.Second, CheckRedirect: noRedirect, Transport: &http.Transport{Proxy: nil, Protocols: &p,
		DialTLSContext: func(context.Context, string, string) (net.Conn, error) { return nil, tls.RecordHeaderError{} }}}
	for _, p := range []struct{ config, binary string }{
		{"protocolbuffers-go.yaml", "protoc-gen-go"},
		{"lathe-prost.yaml", "protoc-gen-lathe-prost"},
	} {
		out, err := exec.Command(filepath.Join(binDir, "lathe"+exe), "plugin", "push", "--data", h.data,
			"--config", filepath.Join(pluginDir, p.config), "--binary", filepath.Join(pluginDir, p.binary)).CombinedOutput()
		if err != nil {
			t.Fatalf("lathe plugin push %s: %v\n%s", p.config, err, out)
		}
	}
	h.mustRPC(h.alice, "buf.registry.module.v1.ModuleService/CreateModules", `{"values":[
		{"ownerRef":{"name":"alice"},"name":"pub","visibility":"MODULE_VISIBILITY_PUBLIC"},
		{"ownerRef":{"name":"alice"},"name":"priv","visibility":"MODULE_VISIBILITY_PRIVATE"}]}`)
	h.pubCommit = h.upload(h.alice, "pub", map[string]string{"pub/v1/pub.proto": "syntax = \"proto3\";\npackage pub.v1;\nmessage Pub { string name = 1; }\n"})
	h.privCommit = h.upload(h.alice, "priv", map[string]string{"priv/v1/priv.proto": "syntax = \"proto3\";\npackage priv.v1;\n// TOPSECRET\nmessage Priv { string name = 1; }\n"})
	var mods struct {
		Modules []struct{ ID string } `json:"modules"`
	}
	json.Unmarshal(h.mustRPC(h.alice, "buf.registry.module.v1.ModuleService/GetModules",
		`{"moduleRefs":[{"name":{"owner":"alice","module":"priv"}},{"name":{"owner":"alice","module":"pub"}}]}`), &mods)
	if len(mods.Modules) != 2 {
		t.Fatal("GetModules: want two modules")
	}
	h.privModule, h.pubModule = mods.Modules[0].ID, mods.Modules[1].ID
	var labels struct {
		Labels []struct{ ID string } `json:"labels"`
	}
	json.Unmarshal(h.mustRPC(h.alice, "buf.registry.module.v1.LabelService/GetLabels",
		`{"labelRefs":[{"name":{"owner":"alice","module":"priv","label":"main"}}]}`), &labels)
	if len(labels.Labels) != 1 {
		t.Fatal("GetLabels: want one label")
	}
	h.privLabel = labels.Labels[0].ID

	// The canonical Go SDK of alice/pub and alice's private crate exist, so that other
	// spellings and other callers have something to find.
	goMod := "/gen/go/127.0.0.1/gen/go/alice/pub/protocolbuffers/go"
	list := h.get(goMod+"/@v/list", "")
	if list.status != http.StatusOK {
		t.Fatalf("GET %s/@v/list: %d %s", goMod, list.status, list.body)
	}
	h.goVersion = strings.TrimSpace(list.body)
	if r := h.get(goMod+"/@v/"+h.goVersion+".mod", ""); r.status != http.StatusOK {
		t.Fatalf("GET .mod: %d %s", r.status, r.body)
	}
	idx := h.get("/gen/cargo/auth/al/ic/alice_priv_lathe_prost", "Bearer "+h.alice)
	if idx.status != http.StatusOK {
		t.Fatalf("private crate index: %d %s", idx.status, idx.body)
	}
	var line struct{ Vers string }
	json.Unmarshal([]byte(strings.SplitN(idx.body, "\n", 2)[0]), &line)
	h.privCrateVersion = line.Vers
	var config struct{ DL string }
	json.Unmarshal([]byte(h.get("/gen/cargo/config.json", "").body), &config)
	h.cargoDL = strings.TrimPrefix(config.DL, h.url)
	h.mustRPC(h.alice, "buf.registry.module.v1.ModuleService/CreateModules", `{"values":[
		{"ownerRef":{"name":"alice"},"name":"pubdep","visibility":"MODULE_VISIBILITY_PUBLIC"},
		{"ownerRef":{"name":"alice"},"name":"scratch","visibility":"MODULE_VISIBILITY_PUBLIC"}]}`)

	dbPath := filepath.Join(h.data, "lathe.db")
	h.db, err = sql.Open("sqlite", "file:"+dbPath+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.db.Close() })
	h.baseline = h.waitQuiet()
	return h
}

// waitQuiet waits until what is stored stops changing (publishing runs in the background
// after pushes) and returns it.
func (h *hostileEnv) waitQuiet() string {
	prev, stableSince := h.stored(), time.Now()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
		cur := h.stored()
		if cur != prev {
			prev, stableSince = cur, time.Now()
		} else if time.Since(stableSince) > 1500*time.Millisecond {
			return cur
		}
	}
	h.t.Fatalf("the server kept storing things for 30s:\n%s", prev)
	return ""
}

// stored describes what the server has stored: the rows of every table and the files of
// the blob store, temporary ones included.
func (h *hostileEnv) stored() string {
	var b strings.Builder
	rows, err := h.db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
	if err != nil {
		h.t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		rows.Scan(&name)
		tables = append(tables, name)
	}
	rows.Close()
	for _, name := range tables {
		var n int
		if err := h.db.QueryRow(`SELECT count(*) FROM "` + name + `"`).Scan(&n); err != nil {
			h.t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s: %d rows\n", name, n)
	}
	filepath.WalkDir(filepath.Join(h.data, "blobs"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(h.data, p)
			fmt.Fprintln(&b, rel)
		}
		return nil
	})
	return b.String()
}

func (h *hostileEnv) do(c hostileCase) (hostileAnswer, error) {
	method := c.method
	if method == "" {
		method = http.MethodGet
		if c.body != nil {
			method = http.MethodPost
		}
	}
	req, err := http.NewRequest(method, h.url+c.path, bytes.NewReader(c.body))
	if err != nil {
		return hostileAnswer{}, err
	}
	if c.body == nil {
		req.Body = nil
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	client := h.h1
	if c.h2c {
		client = h.h2
	}
	resp, err := client.Do(req)
	if err != nil {
		return hostileAnswer{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return hostileAnswer{}, err
	}
	a := hostileAnswer{status: resp.StatusCode, body: string(body)}
	if s := resp.Trailer.Get("Grpc-Status"); s != "" || resp.Header.Get("Grpc-Status") != "" {
		if s == "" {
			s = resp.Header.Get("Grpc-Status")
		}
		n, _ := strconv.Atoi(s)
		a.code = grpcCodes[n]
		a.msg = cmpOr(resp.Trailer.Get("Grpc-Message"), resp.Header.Get("Grpc-Message"))
		return a, nil
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/grpc-web") {
		// The trailers are the last frame: flag 0x80, length, then header lines.
		if i := bytes.LastIndex(body, []byte("grpc-status:")); i >= 0 {
			for _, line := range strings.Split(string(body[i:]), "\r\n") {
				k, v, _ := strings.Cut(line, ":")
				switch strings.ToLower(strings.TrimSpace(k)) {
				case "grpc-status":
					n, _ := strconv.Atoi(strings.TrimSpace(v))
					a.code = grpcCodes[n]
				case "grpc-message":
					a.msg = strings.TrimSpace(v)
				}
			}
		}
		return a, nil
	}
	var e struct{ Code, Message, Error string }
	if json.Unmarshal(body, &e) == nil && (e.Code != "" || e.Error != "") {
		a.code, a.msg = e.Code, cmpOr(e.Message, e.Error)
	} else {
		a.msg = string(body)
	}
	return a, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

var grpcCodes = []string{"ok", "canceled", "unknown", "invalid_argument", "deadline_exceeded", "not_found",
	"already_exists", "permission_denied", "resource_exhausted", "failed_precondition", "aborted",
	"out_of_range", "unimplemented", "internal", "unavailable", "data_loss", "unauthenticated"}

// run sends the case and returns what is wrong with the answer and afterwards.
func (h *hostileEnv) run(c hostileCase, answers map[string]hostileAnswer) []string {
	var problems []string
	peak := h.peakRSS()
	a, err := h.do(c)
	if grown := h.peakRSS() - peak; c.maxRSS > 0 && grown > c.maxRSS {
		problems = append(problems, fmt.Sprintf("the server's peak RSS grew by %d MiB, more than %d MiB", grown>>20, c.maxRSS>>20))
	}
	if err != nil {
		problems = append(problems, "request: "+err.Error())
	} else {
		if c.id != "" {
			a.msg = strings.ReplaceAll(a.msg, c.id, "<ID>")
			a.body = strings.ReplaceAll(a.body, c.id, "<ID>")
		}
		answers[c.name] = a
		if os.Getenv("LATHE_TEST_HOSTILE_LOG") != "" {
			h.t.Logf("%s: %d %q %q", c.name, a.status, a.code, trim(a.msg))
		}
		if c.status != 0 && a.status != c.status {
			problems = append(problems, fmt.Sprintf("status %d, want %d", a.status, c.status))
		}
		if a.code != c.code && !(strings.Contains(c.code, "|") && slices.Contains(strings.Split(c.code, "|"), a.code)) {
			problems = append(problems, fmt.Sprintf("code %q, want %q", a.code, c.code))
		}
		if c.msg != "" && !regexp.MustCompile(c.msg).MatchString(a.msg) {
			problems = append(problems, fmt.Sprintf("message %q does not match %q", trim(a.msg), c.msg))
		}
		for _, s := range c.hide {
			if strings.Contains(a.body, s) {
				problems = append(problems, fmt.Sprintf("the answer contains %q", s))
			}
		}
		if c.sameAs != "" {
			if b := answers[c.sameAs]; b != a {
				problems = append(problems, fmt.Sprintf("answer %d %q %q differs from %s's %d %q %q", a.status, a.code, trim(a.msg), c.sameAs, b.status, b.code, trim(b.msg)))
			}
		}
	}
	if r := h.get("/healthz", ""); r.status != http.StatusOK {
		h.t.Fatalf("after %s: /healthz answers %d %s", c.name, r.status, r.body)
	}
	if now := h.stored(); now != h.baseline {
		// Let background work that the request started finish, then compare again: what
		// it stores counts too.
		now = h.waitQuiet()
		if now != h.baseline {
			problems = append(problems, "stored something:\n"+diffLines(h.baseline, now))
			h.baseline = now
		}
	}
	return problems
}

func trim(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

func diffLines(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for _, l := range bl {
		if !slices.Contains(al, l) {
			out = append(out, "+ "+l)
		}
	}
	for _, l := range al {
		if !slices.Contains(bl, l) {
			out = append(out, "- "+l)
		}
	}
	return strings.Join(out, "\n")
}

func (h *hostileEnv) get(path, auth string) hostileAnswer {
	c := hostileCase{path: path}
	if auth != "" {
		c.header = http.Header{"Authorization": {auth}}
	}
	a, err := h.do(c)
	if err != nil {
		h.t.Fatalf("GET %s: %v", path, err)
	}
	return a
}

func (h *hostileEnv) mustRPC(token, method, body string) []byte {
	h.t.Helper()
	c := hostileCase{path: "/" + method, body: []byte(body), header: jsonHeader(token)}
	a, err := h.do(c)
	if err != nil || a.status != http.StatusOK {
		h.t.Fatalf("%s: %v %d %s", method, err, a.status, a.body)
	}
	return []byte(a.body)
}

func (h *hostileEnv) upload(token, module string, files map[string]string) string {
	h.t.Helper()
	var resp struct {
		Commits []struct{ ID string } `json:"commits"`
	}
	json.Unmarshal(h.mustRPC(token, "buf.registry.module.v1.UploadService/Upload", uploadJSON("alice", module, files, nil)), &resp)
	if len(resp.Commits) != 1 {
		h.t.Fatal("Upload: want one commit")
	}
	return resp.Commits[0].ID
}

func jsonHeader(token string) http.Header {
	hd := http.Header{"Content-Type": {"application/json"}}
	if token != "" {
		hd.Set("Authorization", "Bearer "+token)
	}
	return hd
}

// uploadJSON is an UploadService/Upload request in Connect JSON; files keep their order.
func uploadJSON(owner, module string, files any, deps []string) string {
	type file struct {
		Path    string `json:"path"`
		Content []byte `json:"content"`
	}
	var fs []file
	switch f := files.(type) {
	case map[string]string:
		for p, c := range f {
			fs = append(fs, file{p, []byte(c)})
		}
		slices.SortFunc(fs, func(a, b file) int { return strings.Compare(a.Path, b.Path) })
	case [][2]string:
		for _, pc := range f {
			fs = append(fs, file{pc[0], []byte(pc[1])})
		}
	}
	b, _ := json.Marshal(map[string]any{
		"contents": []any{map[string]any{
			"moduleRef": map[string]any{"name": map[string]string{"owner": owner, "module": module}},
			"files":     fs,
		}},
		"depCommitIds": deps,
	})
	return string(b)
}

// randomID is a commit, module or label id that names nothing.
func randomID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// gzipBomb is size zero bytes, gzipped (about a thousandth of that).
func gzipBomb(size int) []byte {
	var b bytes.Buffer
	w, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	chunk := make([]byte, 1<<20)
	for n := 0; n < size; n += len(chunk) {
		w.Write(chunk)
	}
	w.Close()
	return b.Bytes()
}

// envelope is one length-prefixed message of gRPC, gRPC-Web and Connect streaming.
func envelope(flags byte, length uint32, payload []byte) []byte {
	b := make([]byte, 5, 5+len(payload))
	b[0] = flags
	binary.BigEndian.PutUint32(b[1:], length)
	return append(b, payload...)
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// uploadProto is an UploadService/Upload request in the binary encoding, which (unlike
// JSON) can carry strings that are not UTF-8.
func uploadProto(owner, module string, files [][2]string) []byte {
	content := &modulev1.UploadRequest_Content{ModuleRef: &modulev1.ModuleRef{Value: &modulev1.ModuleRef_Name_{
		Name: &modulev1.ModuleRef_Name{Owner: owner, Module: module}}}}
	for _, f := range files {
		content.Files = append(content.Files, &modulev1.File{Path: f[0], Content: []byte(f[1])})
	}
	b, err := proto.MarshalOptions{}.Marshal(&modulev1.UploadRequest{Contents: []*modulev1.UploadRequest_Content{content}})
	if err != nil {
		// Marshal checks UTF-8 of proto3 strings; write the invalid path by hand.
		return invalidUTF8Upload(owner, module, files)
	}
	return b
}

// invalidUTF8Upload encodes an UploadRequest field by field, so that a path may hold
// bytes that are not UTF-8.
func invalidUTF8Upload(owner, module string, files [][2]string) []byte {
	field := func(num protowire.Number, b []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), b)
	}
	name := append(field(1, []byte(owner)), field(2, []byte(module))...) // ModuleRef.Name
	content := field(1, field(2, name))                                  // Content.module_ref → ModuleRef.name
	for _, f := range files {
		content = append(content, field(2, append(field(1, []byte(f[0])), field(2, []byte(f[1]))...))...)
	}
	return field(1, content)
}

func getCommitsProto(id string) []byte {
	b, _ := proto.Marshal(&modulev1.GetCommitsRequest{ResourceRefs: []*modulev1.ResourceRef{{Value: &modulev1.ResourceRef_Id{Id: id}}}})
	return b
}

// peakRSS is the server's peak resident memory so far (Linux; 0 elsewhere).
func (h *hostileEnv) peakRSS() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", h.pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
