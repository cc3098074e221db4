package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// expand FILE... replaces ${VAR} and $VAR in the files with the script's environment, so
// that buf.yaml files can name modules on the server's port.
func cmdExpand(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: expand FILE...")
	}
	for _, name := range args {
		path := ts.MkAbs(name)
		data, err := os.ReadFile(path)
		ts.Check(err)
		ts.Check(os.WriteFile(path, []byte(os.Expand(string(data), ts.Getenv)), 0o644))
	}
}

// capture NAME REGEXP sets $NAME to the first submatch of REGEXP in the last command's
// stdout, failing if there is none.
func cmdCapture(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: capture NAME REGEXP")
	}
	re, err := regexp.Compile(args[1])
	ts.Check(err)
	out := ts.ReadFile("stdout")
	m := re.FindStringSubmatch(out)
	if len(m) < 2 {
		ts.Fatalf("capture: %q does not match stdout:\n%s", args[1], out)
	}
	ts.Setenv(args[0], m[1])
}

// rpc SERVICE/METHOD JSON calls a registry RPC with the Connect protocol's JSON encoding,
// as any HTTP client can, with $RPC_TOKEN as bearer token if set. It prints the response
// body (a message, or a Connect error such as {"code":"not_found",...}) whatever the status.
// A service without a package is looked up in buf.registry.module.v1 and
// buf.registry.owner.v1.
func cmdRPC(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: rpc SERVICE/METHOD JSON")
	}
	ts.Stdout().Write(rpc(ts, args[0], args[1]))
}

func rpc(ts *testscript.TestScript, method, body string) []byte {
	if !strings.Contains(method, ".") {
		pkg := "buf.registry.module.v1."
		for _, owner := range []string{"OwnerService/", "UserService/", "OrganizationService/"} {
			if strings.HasPrefix(method, owner) {
				pkg = "buf.registry.owner.v1."
			}
		}
		method = pkg + method
	}
	req, err := http.NewRequest(http.MethodPost, ts.Getenv("LATHE_URL")+"/"+method, strings.NewReader(body))
	ts.Check(err)
	req.Header.Set("Content-Type", "application/json")
	if tok := ts.Getenv("RPC_TOKEN"); tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := state(ts).httpClient(ts).Do(req)
	ts.Check(err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	ts.Check(err)
	return append(out, '\n')
}

// digest-of NAME COMMIT sets $NAME to the b5 digest Lathe reports for the commit, in the
// "b5:<hex>" form buf.lock uses.
func cmdDigestOf(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: digest-of NAME COMMIT")
	}
	out := rpc(ts, "CommitService/GetCommits", `{"resourceRefs":[{"id":"`+args[1]+`"}]}`)
	var resp struct {
		Commits []struct {
			Digest struct {
				Type  string `json:"type"`
				Value string `json:"value"`
			} `json:"digest"`
		} `json:"commits"`
	}
	if err := json.NewDecoder(bytes.NewReader(out)).Decode(&resp); err != nil || len(resp.Commits) != 1 {
		ts.Fatalf("GetCommits %s: %v\n%s", args[1], err, out)
	}
	d := resp.Commits[0].Digest
	raw, err := base64.StdEncoding.DecodeString(d.Value)
	if err != nil || d.Type != "DIGEST_TYPE_B5" {
		ts.Fatalf("GetCommits %s: unexpected digest %+v", args[1], d)
	}
	ts.Setenv(args[0], "b5:"+hex.EncodeToString(raw))
}

// bigfile FILE SIZE writes a syntactically valid .proto file of SIZE bytes (one long
// comment), for testing upload limits.
func cmdBigFile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: bigfile FILE SIZE")
	}
	size, err := strconv.Atoi(args[1])
	ts.Check(err)
	head := "syntax = \"proto3\";\npackage big.v1;\n//"
	data := head + strings.Repeat("x", max(size-len(head)-1, 0)) + "\n"
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(data), 0o644))
}

// wait-plugins N waits (up to five minutes) until the server's data directory lists at
// least N plugin versions, as a server installing the shipped plugins publishes them.
func cmdWaitPlugins(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: wait-plugins N")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	deadline := time.Now().Add(5 * time.Minute)
	for {
		out, err := exec.Command(filepath.Join(binDir, "lathe"+exe), "plugin", "list", "--data", dataDir(ts)).Output()
		ts.Check(err)
		if n := strings.Count(string(out), "\n") - 1; n >= want {
			ts.Stdout().Write(out)
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("after five minutes, only these plugins:\n%s", out)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// hostile REVISION PARAM WANT runs buf generate with revision REVISION of the test plugin
// test/hostile and parameter PARAM, and checks that it fails with an error matching the
// regular expression WANT, or succeeds when WANT is empty.
func cmdHostile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: hostile REVISION PARAM WANT")
	}
	config := fmt.Sprintf("version: v2\nplugins:\n  - remote: %s/test/hostile:v1.0.0\n    revision: %s\n    out: out-hostile\n", ts.Getenv("REMOTE"), args[0])
	if args[1] != "" {
		config += "    opt: " + strconv.Quote(args[1]) + "\n"
	}
	file := ts.MkAbs("hostile.gen.yaml")
	ts.Check(os.WriteFile(file, []byte(config), 0o644))
	cmd := exec.Command(filepath.Join(binDir, "buf"+exe), "generate", ts.Getenv("REMOTE")+"/alice/m", "--template", file)
	cmd.Dir = ts.Getenv("WORK")
	for _, k := range []string{"PATH", "HOME", "NETRC", "BUF_CACHE_DIR", "BUF_CONFIG_DIR", "BUF_TOKEN"} {
		cmd.Env = append(cmd.Env, k+"="+ts.Getenv(k))
	}
	start := time.Now()
	out, err := cmd.CombinedOutput()
	ts.Logf("hostile %s %q: %v after %v: %s", args[0], args[1], err, time.Since(start).Round(time.Millisecond), strings.TrimSpace(string(out)))
	switch {
	case args[2] == "" && err != nil:
		ts.Fatalf("buf generate failed: %v\n%s", err, out)
	case args[2] != "" && err == nil:
		ts.Fatalf("buf generate with %q succeeded", args[1])
	case args[2] != "" && !regexp.MustCompile(args[2]).Match(out):
		ts.Fatalf("buf generate with %q: want %q in:\n%s", args[1], args[2], out)
	}
}

// pluginjson OUT CONFIG PROGRAM RUNTIME writes the JSON of a lathe.plugin.v1 PushPlugin
// request for buf curl.
func cmdPluginJSON(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 4 {
		ts.Fatalf("usage: pluginjson OUT CONFIG PROGRAM RUNTIME")
	}
	config, err := os.ReadFile(ts.MkAbs(args[1]))
	ts.Check(err)
	program, err := os.ReadFile(ts.MkAbs(args[2]))
	ts.Check(err)
	data, err := json.Marshal(map[string]any{
		"config": config, "program": program, "runtime": args[3],
		"programName": strings.TrimSuffix(filepath.Base(args[2]), ".wasm"),
	})
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), data, 0o644))
}
