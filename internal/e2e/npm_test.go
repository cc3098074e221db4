package e2e

import (
	"os"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

func init() {
	// npm-trust makes npm and node trust the server's certificate when lathe-serve serves
	// HTTPS, and does nothing otherwise.
	scriptCmds["npm-trust"] = cmdNPMTrust
	// replace OLD NEW FILE... replaces every OLD with NEW in the files, e.g. a server's old
	// URL in a document saved before a restart.
	scriptCmds["replace"] = cmdReplace
}

// cmdNPMTrust points npm's cafile and node's NODE_EXTRA_CA_CERTS at the bundle lathe-serve
// made in TLS mode ($SSL_CERT_FILE: the system's roots, which npm still needs for the
// public registry, and the harness's CA). Node alone would take NODE_EXTRA_CA_CERTS, but
// npm passes its cafile setting (which distributions set globally, e.g. in
// /usr/etc/npmrc) to every TLS connection, replacing node's roots.
func cmdNPMTrust(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: npm-trust")
	}
	if !strings.HasPrefix(ts.Getenv("LATHE_URL"), "https://") {
		return
	}
	bundle := ts.Getenv("SSL_CERT_FILE")
	if _, err := os.Stat(bundle); err != nil {
		ts.Fatalf("npm-trust: the CA bundle: %v", err)
	}
	ts.Setenv("NPM_CONFIG_CAFILE", bundle)
	ts.Setenv("NODE_EXTRA_CA_CERTS", bundle)
}

func cmdReplace(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 3 {
		ts.Fatalf("usage: replace OLD NEW FILE...")
	}
	for _, name := range args[2:] {
		path := ts.MkAbs(name)
		data, err := os.ReadFile(path)
		ts.Check(err)
		ts.Check(os.WriteFile(path, []byte(strings.ReplaceAll(string(data), args[0], args[1])), 0o644))
	}
}
