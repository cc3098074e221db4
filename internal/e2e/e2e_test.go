// Package e2e tests Lathe with the real buf CLI, through the testscript
// scripts in testdata. See TestMain for how the lathe and buf binaries are
// found, and scriptCmds for the commands scripts can use beyond the standard
// testscript set.
package e2e

import (
	"bytes"
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// bufVersion is the buf CLI release Lathe is tested against.
const bufVersion = "1.75.0"

// binDir holds the lathe binary and a link to buf; scripts find both on PATH.
var binDir string

// wasmCacheDir is the WASM compilation cache the test run's servers share.
var wasmCacheDir string

// hostGoEnv is the go command's configuration, passed to scripts.
var hostGoEnv []string

// exe is the platform's executable suffix.
var exe = func() string {
	if runtime.GOOS == "windows" {
		return ".exe"
	}
	return ""
}()

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "lathe-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binDir = dir
	if err := buildLathe(filepath.Join(binDir, "lathe"+exe)); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building lathe:", err)
		return 1
	}
	buf, err := findBuf()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: finding buf:", err)
		return 1
	}
	if err := linkOrCopy(buf, filepath.Join(binDir, "buf"+exe)); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	wasmCacheDir = filepath.Join(dir, "wasm-cache")
	pluginDir = filepath.Join(dir, "plugins")
	if err := os.MkdirAll(pluginDir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	if err := buildPlugins(pluginDir); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building plugins:", err)
		return 1
	}
	if hostGoEnv, err = goEnv(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: go env:", err)
		return 1
	}
	return m.Run()
}

func buildLathe(out string) error {
	// Never with -race, even when the tests run with it: a race-instrumented server
	// compiles WASM plugins many times slower, and the in-process tests of the API, the
	// engine and the stores are where the race detector watches the server's code.
	cmd := exec.Command(goTool(), "build", "-o", out, "github.com/lathe-registry/lathe/cmd/lathe")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}

// readSources reads every file of the module that goes into the lathe binary. go test
// caches this package's result by the files a test reads, but the server is built by
// another process: reading its sources makes a change to any of them run the scripts
// again instead of reusing a result of the old server.
func readSources(t *testing.T) {
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != root && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(name, "_test.go") || !(strings.HasSuffix(name, ".go") || name == "go.mod" || name == "go.sum" ||
			strings.Contains(p, string(filepath.Separator)+"wellknown"+string(filepath.Separator))) {
			return nil
		}
		_, err = os.ReadFile(p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func goTool() string {
	// go test puts $GOROOT/bin first on PATH.
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go"+exe) //nolint:staticcheck // the test binary runs where it was built, with its toolchain
}

// findBuf returns the path of a buf CLI of bufVersion: $LATHE_TEST_BUF, else
// buf on PATH if it is that version, else a cached copy, else one installed
// into the cache with go install, so that the suite never skips for want of
// a client.
func findBuf() (string, error) {
	if p := os.Getenv("LATHE_TEST_BUF"); p != "" {
		v, err := bufVersionOf(p)
		if err != nil {
			return "", fmt.Errorf("$LATHE_TEST_BUF: %w", err)
		}
		if v != bufVersion {
			fmt.Fprintf(os.Stderr, "e2e: warning: $LATHE_TEST_BUF is buf %s; Lathe targets %s\n", v, bufVersion)
		}
		return p, nil
	}
	if p, err := exec.LookPath("buf"); err == nil {
		if v, err := bufVersionOf(p); err == nil && v == bufVersion {
			return p, nil
		}
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "lathe-test", "buf-v"+bufVersion)
	p := filepath.Join(dir, "buf"+exe)
	if v, err := bufVersionOf(p); err == nil && v == bufVersion {
		return p, nil
	}
	fmt.Fprintf(os.Stderr, "e2e: installing buf v%s into %s (once; this takes a few minutes)\n", bufVersion, dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	// Install into a private directory and rename, so that concurrent test
	// runs never see a half-written binary.
	tmp, err := os.MkdirTemp(dir, "install-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command(goTool(), "install", "github.com/bufbuild/buf/cmd/buf@v"+bufVersion)
	cmd.Dir = tmp // outside Lathe's module: the install must not depend on it
	cmd.Env = append(os.Environ(), "GOBIN="+tmp, "GOFLAGS=", "GOWORK=off", "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go install buf: %w", err)
	}
	if err := os.Rename(filepath.Join(tmp, "buf"+exe), p); err != nil {
		return "", err
	}
	return p, nil
}

func bufVersionOf(path string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("%s --version: %w", path, err)
	}
	return strings.TrimSpace(string(out)), nil
}

func linkOrCopy(from, to string) error {
	if err := os.Symlink(from, to); err == nil {
		return nil
	}
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, data, 0o755)
}

func TestScripts(t *testing.T) {
	readSources(t)
	testscript.Run(t, testscript.Params{
		Dir:       "testdata",
		Setup:     setup,
		Cmds:      scriptCmds,
		Condition: transport(false),
	})
}

// transport answers the condition [tls], true in the scripts' TLS runs.
func transport(tls bool) func(string) (bool, error) {
	return func(cond string) (bool, error) {
		if cond != "tls" {
			return false, fmt.Errorf("unknown condition %q", cond)
		}
		return tls, nil
	}
}

// TestScriptsTLS runs every script again with lathe-serve serving HTTPS with a
// self-signed certificate that buf trusts through tls.use: systemandlocal.
func TestScriptsTLS(t *testing.T) {
	readSources(t)
	testscript.Run(t, testscript.Params{
		Dir: "testdata",
		Setup: func(env *testscript.Env) error {
			env.Setenv("E2E_TLS", "1")
			return setup(env)
		},
		Cmds:      scriptCmds,
		Condition: transport(true),
	})
}

// scriptCmds are the commands scripts can use besides the standard ones;
// "exec lathe ..." and "exec buf ..." run the binaries.
var scriptCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	// lathe-serve [--tls] starts "lathe serve" on 127.0.0.1:0 (with TLS when --tls is given or
	// the script runs under TestScriptsTLS) with data in
	// $WORK/data, waits until it is healthy and sets $LATHE_URL, $REMOTE and $CURL_FLAGS,
	// and points buf at it (plain HTTP, or TLS trusting the harness's
	// self-signed certificate). The server is stopped when the script ends.
	"lathe-serve": cmdLatheServe,
	// lathe-stop stops the server with SIGINT and checks that it exits 0.
	"lathe-stop": cmdLatheStop,
	// lathe-user NAME creates the user NAME and a token for it with the CLI,
	// sets $TOKEN_<NAME> (upper case, '-' as '_') to the token, and prints
	// the token, so that "stdin stdout" can feed it to buf.
	"lathe-user": cmdLatheUser,
	// [!] httpget URL GETs URL (trusting the harness certificate), checks the
	// status is 200 (or, negated, that the request fails or is not 200), and
	// prints the body.
	"httpget": cmdHTTPGet,
	// expand FILE... substitutes $VAR and ${VAR} in files.
	"expand": cmdExpand,
	// capture NAME REGEXP sets $NAME from the last stdout.
	"capture": cmdCapture,
	// rpc SERVICE/METHOD JSON calls an RPC with Connect JSON (token from $RPC_TOKEN).
	"rpc": cmdRPC,
	// digest-of NAME COMMIT sets $NAME to the commit's b5 digest as buf.lock spells it.
	"digest-of": cmdDigestOf,
	// cmpdir [-descriptors FILE] DIR1 DIR2 checks two trees hold the same files, byte for
	// byte (embedded descriptors compared as messages with -descriptors).
	"cmpdir": cmdCmpDir,
	// wait-plugins N waits until the server has published N plugin versions.
	"wait-plugins": cmdWaitPlugins,
	// hostile REVISION PARAM WANT runs buf generate with the misbehaving test plugin.
	"hostile": cmdHostile,
	// pluginjson OUT CONFIG PROGRAM RUNTIME writes a PushPlugin request as JSON.
	"pluginjson": cmdPluginJSON,
	// bigfile FILE SIZE writes a valid .proto file of SIZE bytes.
	"bigfile": cmdBigFile,
	// cargo-home REGISTRY-PATH sets up cargo for the registry "lathe".
	"cargo-home": cmdCargoHome,
	// httpwait URL REGEXP GETs URL until its body matches REGEXP, for up to 10 s.
	"httpwait": cmdHTTPWait,
	// go-upstream starts a recording stand-in for the public Go module proxy and has the
	// next lathe-serve forward to it; see cmdGoUpstream.
	"go-upstream": cmdGoUpstream,
	// corpus DIR writes the real-world corpus under DIR (see cmdCorpus).
	"corpus": cmdCorpus,
}

// scriptState is the per-script state of the custom commands.
type scriptState struct {
	server *serverProc
	certs  *testCerts   // made on first use
	t      testscript.T // the script's test, which only the skip command can reach otherwise
}

// scriptT is a script command's [testenv.T]: a missing program fails the script as
// ts.Fatalf does, or skips it as the skip command does.
type scriptT struct{ ts *testscript.TestScript }

func (s scriptT) Fatal(args ...any) { s.ts.Fatalf("%s", fmt.Sprint(args...)) }
func (s scriptT) Skip(args ...any)  { state(s.ts).t.Skip(args...) }

type stateKey struct{}

func state(ts *testscript.TestScript) *scriptState {
	return ts.Value(stateKey{}).(*scriptState)
}

func setup(env *testscript.Env) error {
	work := env.WorkDir
	home := filepath.Join(work, "home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		return err
	}
	env.Setenv("PATH", binDir+string(os.PathListSeparator)+pluginDir+string(os.PathListSeparator)+env.Getenv("PATH"))
	// $PLUGINS has the shipped plugins, native and .wasm, and their buf.plugin.yaml files.
	env.Setenv("PLUGINS", pluginDir)
	for _, kv := range hostGoEnv {
		k, v, _ := strings.Cut(kv, "=")
		env.Setenv(k, v)
	}
	// npm and node keep reaching the registry the way the host does: its proxies, its
	// certificate authorities and its npm configuration.
	for _, k := range []string{"NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE", "SSL_CERT_DIR",
		"HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "https_proxy", "http_proxy", "no_proxy"} {
		if v := os.Getenv(k); v != "" {
			env.Setenv(k, v)
		}
	}
	if hostHome, err := os.UserHomeDir(); err == nil {
		if _, err := os.Stat(filepath.Join(hostHome, ".npmrc")); err == nil {
			env.Setenv("NPM_CONFIG_USERCONFIG", filepath.Join(hostHome, ".npmrc"))
		}
	}
	// rustup finds its toolchains through RUSTUP_HOME, which defaults to one under HOME.
	if hostHome, err := os.UserHomeDir(); err == nil && os.Getenv("RUSTUP_HOME") == "" {
		if _, err := os.Stat(filepath.Join(hostHome, ".rustup")); err == nil {
			env.Setenv("RUSTUP_HOME", filepath.Join(hostHome, ".rustup"))
		}
	}
	// Isolate buf from the developer's login, cache and configuration.
	env.Setenv("HOME", home)
	env.Setenv("NETRC", filepath.Join(home, ".netrc"))
	env.Setenv("BUF_CACHE_DIR", filepath.Join(work, ".bufcache"))
	env.Setenv("BUF_CONFIG_DIR", filepath.Join(work, ".bufconfig"))
	st := &scriptState{t: env.T()}
	env.Values[stateKey{}] = st
	env.Defer(func() {
		if st.server == nil {
			return
		}
		err := st.server.stop()
		f, ok := env.T().(interface{ Failed() bool })
		failed := !ok || f.Failed() // if unsure, log rather than fail twice
		if err != nil || failed {
			env.T().Log("lathe serve log:\n" + st.server.log())
		}
		if err != nil && !failed {
			env.T().Fatal("lathe serve: ", err)
		}
	})
	return nil
}

// serverProc is a running "lathe serve".
type serverProc struct {
	cmd     *exec.Cmd
	done    chan struct{} // closed when the process has exited
	err     error         // Wait's result, set before done is closed
	logFile string
}

func (p *serverProc) log() string {
	b, err := os.ReadFile(p.logFile)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// stop interrupts the server and waits for it to exit; a non-zero exit is an
// error.
func (p *serverProc) stop() error {
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		p.cmd.Process.Kill() // Windows has no SIGINT
	}
	select {
	case <-p.done:
		return p.err
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
		return errors.New("did not exit within 30s of SIGINT")
	}
}

// childEnv is the environment of the lathe processes the commands start:
// the script's, restricted to what lathe needs, so that LATHE_* variables
// of the developer's shell cannot leak in.
func childEnv(ts *testscript.TestScript) []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "SYSTEMROOT", "GORACE", "GOCOVERDIR",
		"GOPATH", "GOMODCACHE", "GOCACHE", "GOPROXY", "GOROOT",
		"LATHE_LOG_LEVEL", "LATHE_MAX_REQUEST_BYTES", "LATHE_READ_HEADER_TIMEOUT", "LATHE_INSTALL_PLUGINS",
		"LATHE_PLUGIN_TIMEOUT", "LATHE_PLUGIN_MEMORY", "LATHE_PLUGIN_MAX_OUTPUT", "LATHE_GO_UPSTREAM"} {
		if v := ts.Getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	if ts.Getenv("LATHE_LOG_LEVEL") == "" {
		env = append(env, "LATHE_LOG_LEVEL=debug")
	}
	// Compiling a WASM plugin takes long (longer still under the race detector): every
	// server of this test run shares one compilation cache.
	env = append(env, "LATHE_WASM_CACHE="+wasmCacheDir)
	// The go command reaches other modules through Lathe only in scripts that set up a
	// stand-in for the public proxy (go-upstream); the others must not reach the network.
	if ts.Getenv("LATHE_GO_UPSTREAM") == "" {
		env = append(env, "LATHE_GO_UPSTREAM=off")
	}
	// Building the shipped plugins takes a while; only scripts that want them ask.
	if ts.Getenv("LATHE_INSTALL_PLUGINS") == "" {
		env = append(env, "LATHE_INSTALL_PLUGINS=false")
	}
	return env
}

func dataDir(ts *testscript.TestScript) string {
	return filepath.Join(ts.Getenv("WORK"), "data")
}

var servingLine = regexp.MustCompile(`^lathe: serving on (https?)://(127\.0\.0\.1:[0-9]+)\n`)

func cmdLatheServe(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! lathe-serve")
	}
	useTLS := ts.Getenv("E2E_TLS") == "1"
	switch {
	case len(args) == 1 && args[0] == "--tls":
		useTLS = true
	case len(args) != 0:
		ts.Fatalf("usage: lathe-serve [--tls]")
	}
	st := state(ts)
	if st.server != nil {
		ts.Fatalf("lathe-serve: a server is already running; lathe-stop it first")
	}
	work := ts.Getenv("WORK")
	serveArgs := []string{"serve", "--listen", "127.0.0.1:0", "--data", dataDir(ts)}
	bufTLS := "tls:\n  use: false\n"
	// $CURL_FLAGS lets buf curl reach the server either way: HTTP/2 without TLS needs prior
	// knowledge, HTTPS needs the harness's CA.
	ts.Setenv("CURL_FLAGS", "--http2-prior-knowledge")
	if useTLS {
		certs := st.testCerts(ts)
		serveArgs = append(serveArgs, "--tls-cert", certs.certFile, "--tls-key", certs.keyFile)
		bufTLS = "tls:\n  use: systemandlocal\n  root_cert_file_paths:\n    - " + strconv.Quote(certs.caFile) + "\n"
		ts.Setenv("CURL_FLAGS", "--cacert="+certs.caFile)
		// Package managers (the go command, cargo, npm, pip) trust the system's roots, which
		// they still need for public registries, plus the harness's CA.
		bundle := filepath.Join(work, "tls", "bundle.pem")
		system, err := os.ReadFile(cmp.Or(ts.Getenv("SSL_CERT_FILE"), "/etc/ssl/certs/ca-certificates.crt"))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			ts.Fatalf("reading the system CA bundle: %v", err)
		}
		ca, err := os.ReadFile(certs.caFile)
		ts.Check(err)
		ts.Check(os.WriteFile(bundle, append(append(system, '\n'), ca...), 0o644))
		ts.Setenv("SSL_CERT_FILE", bundle)
	}
	configDir := ts.Getenv("BUF_CONFIG_DIR")
	ts.Check(os.MkdirAll(configDir, 0o755))
	ts.Check(os.WriteFile(filepath.Join(configDir, "config.yaml"), []byte("version: v1\n"+bufTLS), 0o644))

	logFile := filepath.Join(work, "lathe-serve.log")
	logf, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	ts.Check(err)
	stdout := &firstLine{line: make(chan string, 1)}
	cmd := exec.Command(filepath.Join(binDir, "lathe"+exe), serveArgs...)
	cmd.Dir = work
	cmd.Env = childEnv(ts)
	cmd.Stdout = stdout
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		ts.Fatalf("starting lathe serve: %v", err)
	}
	p := &serverProc{cmd: cmd, done: make(chan struct{}), logFile: logFile}
	go func() {
		p.err = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	st.server = p

	var line string
	select {
	case line = <-stdout.line:
	case <-p.done:
		ts.Fatalf("lathe serve exited before serving: %v\n%s", p.err, p.log())
	case <-time.After(time.Minute):
		ts.Fatalf("lathe serve printed no serving line within a minute\n%s", p.log())
	}
	m := servingLine.FindStringSubmatch(line)
	if m == nil {
		ts.Fatalf("unexpected first line from lathe serve: %q", line)
	}
	if (m[1] == "https") != useTLS {
		ts.Fatalf("lathe serve uses %s, want TLS=%v", m[1], useTLS)
	}
	url := m[1] + "://" + m[2]
	ts.Setenv("LATHE_URL", url)
	ts.Setenv("REMOTE", m[2])

	client := st.httpClient(ts)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get(url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
			err = errors.New(resp.Status)
		}
		if time.Now().After(deadline) {
			ts.Fatalf("lathe serve not healthy: %v\n%s", err, p.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	ts.Logf("lathe serving on %s", url)
}

func cmdLatheStop(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: lathe-stop")
	}
	st := state(ts)
	if st.server == nil {
		ts.Fatalf("lathe-stop: no server running")
	}
	p := st.server
	st.server = nil
	if err := p.stop(); err != nil {
		ts.Fatalf("lathe serve: %v\n%s", err, p.log())
	}
}

func cmdLatheUser(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: lathe-user NAME")
	}
	name := args[0]
	lathe := func(args ...string) string {
		cmd := exec.Command(filepath.Join(binDir, "lathe"+exe), append(args, "--data", dataDir(ts))...)
		cmd.Dir = ts.Getenv("WORK")
		cmd.Env = childEnv(ts)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			ts.Fatalf("lathe %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, &stdout, &stderr)
		}
		return stdout.String()
	}
	lathe("user", "create", name)
	out := strings.Split(strings.TrimSpace(lathe("token", "create", "--user", name)), "\n")
	token := strings.TrimSpace(out[len(out)-1])
	if token == "" {
		ts.Fatalf("lathe token create printed no token")
	}
	ts.Setenv("TOKEN_"+strings.ToUpper(strings.ReplaceAll(name, "-", "_")), token)
	fmt.Fprintln(ts.Stdout(), token)
}

func cmdHTTPGet(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: httpget URL")
	}
	resp, err := state(ts).httpClient(ts).Get(args[0])
	if err != nil {
		if neg {
			return
		}
		ts.Fatalf("GET %s: %v", args[0], err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	ts.Check(err)
	ts.Stdout().Write(body)
	switch ok := resp.StatusCode == http.StatusOK; {
	case ok && neg:
		ts.Fatalf("GET %s: unexpected %s", args[0], resp.Status)
	case !ok && !neg:
		ts.Fatalf("GET %s: %s", args[0], resp.Status)
	}
}

// httpClient trusts the harness certificate and never uses a proxy.
func (st *scriptState) httpClient(ts *testscript.TestScript) *http.Client {
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: st.testCerts(ts).pool}}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// firstLine is a Writer that delivers the first complete line written to it.
type firstLine struct {
	mu   sync.Mutex
	buf  []byte
	sent bool
	line chan string
}

func (w *firstLine) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.sent {
		w.buf = append(w.buf, p...)
		if i := bytes.IndexByte(w.buf, '\n'); i >= 0 {
			w.line <- string(w.buf[:i+1])
			w.sent = true
		}
	}
	return len(p), nil
}

// testCerts is a self-signed certificate for 127.0.0.1 that doubles as its
// own CA.
type testCerts struct {
	certFile, keyFile, caFile string
	pool                      *x509.CertPool
}

func (st *scriptState) testCerts(ts *testscript.TestScript) *testCerts {
	if st.certs != nil {
		return st.certs
	}
	// A CA and a server certificate it signed: clients built on webpki (uv, and rustls
	// generally) refuse a CA certificate that is also the server's.
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ts.Check(err)
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "lathe e2e CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	ts.Check(err)
	cert, err := x509.ParseCertificate(caDER)
	ts.Check(err)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ts.Check(err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano() + 1),
		Subject:      pkix.Name{CommonName: "lathe e2e"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, cert, &key.PublicKey, caKey)
	ts.Check(err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	ts.Check(err)

	dir := filepath.Join(ts.Getenv("WORK"), "tls")
	ts.Check(os.MkdirAll(dir, 0o700))
	c := &testCerts{
		certFile: filepath.Join(dir, "cert.pem"),
		keyFile:  filepath.Join(dir, "key.pem"),
		caFile:   filepath.Join(dir, "ca.pem"),
		pool:     x509.NewCertPool(),
	}
	ts.Check(os.WriteFile(c.certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644))
	ts.Check(os.WriteFile(c.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644))
	ts.Check(os.WriteFile(c.keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600))
	c.pool.AddCert(cert)
	st.certs = c
	return c
}
