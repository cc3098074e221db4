package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lathe-registry/lathe/internal/registry"
)

func mapEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestEnvName(t *testing.T) {
	for flagName, want := range map[string]string{
		"data":                "LATHE_DATA",
		"tls-cert":            "LATHE_TLS_CERT",
		"max-request-bytes":   "LATHE_MAX_REQUEST_BYTES",
		"read-header-timeout": "LATHE_READ_HEADER_TIMEOUT",
	} {
		if got := envName(flagName); got != want {
			t.Errorf("envName(%q) = %q, want %q", flagName, got, want)
		}
	}
}

func TestCommandParse(t *testing.T) {
	newTestCommand := func() (*command, *string, *time.Duration) {
		c := newCommand("test", "lathe test", "Test.", io.Discard)
		return c, c.String("data", "default", "data dir"), c.Duration("read-header-timeout", time.Second, "timeout")
	}
	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		data    string
		timeout time.Duration
		pos     []string
	}{
		{name: "defaults", data: "default", timeout: time.Second},
		{name: "env sets", env: map[string]string{"LATHE_DATA": "fromenv", "LATHE_READ_HEADER_TIMEOUT": "3s"}, data: "fromenv", timeout: 3 * time.Second},
		{name: "flag overrides env", args: []string{"--data", "fromflag"}, env: map[string]string{"LATHE_DATA": "fromenv"}, data: "fromflag", timeout: time.Second},
		{name: "empty env is unset", env: map[string]string{"LATHE_DATA": ""}, data: "default", timeout: time.Second},
		{name: "interspersed", args: []string{"alice", "--data=d", "bob", "-read-header-timeout", "2s"}, data: "d", timeout: 2 * time.Second, pos: []string{"alice", "bob"}},
		{name: "double dash", args: []string{"--data", "d", "--", "--not-a-flag", "x"}, data: "d", timeout: time.Second, pos: []string{"--not-a-flag", "x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, data, timeout := newTestCommand()
			pos, err := c.parse(tc.args, mapEnv(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			if *data != tc.data || *timeout != tc.timeout || !slices.Equal(pos, tc.pos) {
				t.Fatalf("got data=%q timeout=%v pos=%q, want %q %v %q", *data, *timeout, pos, tc.data, tc.timeout, tc.pos)
			}
		})
	}

	t.Run("bad env value", func(t *testing.T) {
		c, _, _ := newTestCommand()
		_, err := c.parse(nil, mapEnv(map[string]string{"LATHE_READ_HEADER_TIMEOUT": "soon"}))
		var ue *usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), "LATHE_READ_HEADER_TIMEOUT") {
			t.Fatalf("err = %v, want a usage error naming the variable", err)
		}
	})
	t.Run("unknown flag", func(t *testing.T) {
		c, _, _ := newTestCommand()
		_, err := c.parse([]string{"--nope"}, mapEnv(nil))
		var ue *usageError
		if !errors.As(err, &ue) {
			t.Fatalf("err = %v, want a usage error", err)
		}
	})
	t.Run("help lists env twins", func(t *testing.T) {
		var out strings.Builder
		c := newCommand("test", "lathe test", "Test.", &out)
		c.String("tls-cert", "", "certificate `FILE`")
		if _, err := c.parse([]string{"--help"}, mapEnv(nil)); !errors.Is(err, flag.ErrHelp) {
			t.Fatalf("err = %v, want flag.ErrHelp", err)
		}
		if !strings.Contains(out.String(), "--tls-cert FILE") || !strings.Contains(out.String(), "$LATHE_TLS_CERT") {
			t.Fatalf("usage lacks the flag or its variable:\n%s", out.String())
		}
	})
}

func TestServeHelpListsEveryEnvTwin(t *testing.T) {
	var stdout, stderr strings.Builder
	if code := run(context.Background(), []string{"serve", "--help"}, mapEnv(nil), &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, v := range []string{"LATHE_DATA", "LATHE_LISTEN", "LATHE_TLS_CERT", "LATHE_TLS_KEY", "LATHE_MAX_REQUEST_BYTES", "LATHE_READ_HEADER_TIMEOUT", "LATHE_READ_BODY_TIMEOUT", "LATHE_MIN_BODY_RATE", "LATHE_IDLE_TIMEOUT", "LATHE_MAX_CONNECTIONS", "LATHE_MAX_EXPENSIVE_CALLS", "LATHE_MAX_EXPENSIVE_CALLS_PER_CALLER", "LATHE_MAX_SDK_REQUESTS", "LATHE_MAX_SDK_REQUESTS_PER_CALLER", "LATHE_LOG_LEVEL"} {
		if !strings.Contains(stdout.String(), "$"+v) {
			t.Errorf("serve --help lacks %s:\n%s", v, stdout.String())
		}
	}
}

func TestCheckUserName(t *testing.T) {
	for _, ok := range []string{"ab", "alice", "a-b-c", "a1", strings.Repeat("a", 32)} {
		if err := registry.CheckOwnerName(ok); err != nil {
			t.Errorf("CheckOwnerName(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a", "Alice", "1abc", "-abc", "al_ice", "al.ice", "al ice", strings.Repeat("a", 33), "ålice"} {
		if err := registry.CheckOwnerName(bad); err == nil {
			t.Errorf("CheckOwnerName(%q) succeeded", bad)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"frobnicate"},
		{"user"},
		{"user", "delete", "x"},
		{"user", "create"},
		{"user", "create", "a", "b"},
		{"user", "create", "Bad_Name"},
		{"token", "create"},
		{"serve", "extra"},
		{"serve", "--tls-cert", "c.pem"},
	} {
		var stderr strings.Builder
		if code := run(context.Background(), args, mapEnv(nil), io.Discard, &stderr); code != 2 {
			t.Errorf("lathe %q: exit %d, want 2 (stderr %q)", args, code, stderr.String())
		}
	}
}

func TestVersion(t *testing.T) {
	var stdout strings.Builder
	if code := run(context.Background(), []string{"version"}, mapEnv(nil), &stdout, io.Discard); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if !strings.HasPrefix(stdout.String(), "lathe ") {
		t.Fatalf("version output %q", stdout.String())
	}
}

func TestUserAndToken(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	ctx := context.Background()
	lathe := func(args ...string) (int, string, string) {
		var stdout, stderr strings.Builder
		code := run(ctx, args, mapEnv(map[string]string{"LATHE_DATA": data}), &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}

	if code, _, stderr := lathe("token", "create", "--user", "alice"); code != 1 || !strings.Contains(stderr, "no Lathe data") {
		t.Fatalf("token create without data: exit %d, stderr %q", code, stderr)
	}
	if code, stdout, stderr := lathe("user", "create", "alice"); code != 0 || !strings.Contains(stdout, "alice") {
		t.Fatalf("user create: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if code, _, stderr := lathe("user", "create", "alice"); code != 1 || !strings.Contains(stderr, "already exists") {
		t.Fatalf("second user create: exit %d, stderr %q", code, stderr)
	}
	if code, _, stderr := lathe("token", "create", "--user", "bob"); code != 1 || !strings.Contains(stderr, `no user named "bob"`) {
		t.Fatalf("token create for unknown user: exit %d, stderr %q", code, stderr)
	}
	code, stdout, stderr := lathe("token", "create", "--user", "alice")
	if code != 0 {
		t.Fatalf("token create: exit %d, stderr %q", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if token := lines[len(lines)-1]; !regexp.MustCompile(`^lathe_[A-Za-z0-9_-]{43}$`).MatchString(token) {
		t.Fatalf("last line of stdout %q is not a token", token)
	}
}

func TestServe(t *testing.T) {
	data := t.TempDir()
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	exit := make(chan int, 1)
	go func() {
		defer pw.Close()
		exit <- run(ctx, []string{"serve", "--data", data}, mapEnv(map[string]string{"LATHE_LISTEN": "127.0.0.1:0"}), pw, t.Output())
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the serving line: %v (exit %d)", err, <-exit)
	}
	go io.Copy(io.Discard, pr)
	m := regexp.MustCompile(`^lathe: serving on (http://127\.0\.0\.1:[0-9]+)\n$`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("serving line %q", line)
	}
	resp, err := http.Get(m[1] + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %d", resp.StatusCode)
	}
	cancel()
	if code := <-exit; code != 0 {
		t.Fatalf("serve exited %d after cancellation", code)
	}
}

func TestPublicEndpoints(t *testing.T) {
	for _, c := range []struct {
		public, goHost, listen string
		wantURL, wantRoot      string
		wantErr                bool
	}{
		{"", "", "http://127.0.0.1:8080", "http://127.0.0.1:8080", "127.0.0.1/gen/go", false},
		{"", "", "http://[::]:8080", "http://127.0.0.1:8080", "127.0.0.1/gen/go", false},
		{"", "", "http://0.0.0.0:8080", "http://127.0.0.1:8080", "127.0.0.1/gen/go", false},
		{"", "", "http://localhost:8080", "http://127.0.0.1:8080", "127.0.0.1/gen/go", false},
		{"https://lathe.example.com/", "", "http://[::]:443", "https://lathe.example.com", "lathe.example.com/gen/go", false},
		{"https://lathe.example.com:8443", "", "", "https://lathe.example.com:8443", "lathe.example.com/gen/go", false},
		{"https://registry:8443", "go.example.com", "", "https://registry:8443", "go.example.com/gen/go", false},
		{"https://registry:8443", "", "", "", "", true},
		{"ftp://lathe.example.com", "", "", "", "", true},
		{"", "Bad_Host", "http://127.0.0.1:8080", "", "", true},
	} {
		gotURL, paths, err := publicEndpoints(c.public, c.goHost, c.listen)
		if (err != nil) != c.wantErr || (err == nil && (gotURL != c.wantURL || paths.Root() != c.wantRoot)) {
			t.Errorf("publicEndpoints(%q, %q, %q) = %q, %q, %v", c.public, c.goHost, c.listen, gotURL, paths.Root(), err)
		}
	}
}

func TestSDKSetup(t *testing.T) {
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"sdk", "go", "alice/weather", "protocolbuffers/go", "--public-url", "https://lathe.example.com:8443"}, []string{
			"go env -w GOPROXY=https://lathe.example.com:8443/gen/go",
			"go env -w GONOSUMDB=lathe.example.com/gen/go",
			"machine lathe.example.com:8443 login token password <token>",
			"go get lathe.example.com/gen/go/alice/weather/protocolbuffers/go@latest",
		}},
		{[]string{"sdk", "cargo", "alice/weather", "lathe/prost", "--public-url", "https://lathe.example.com"}, []string{
			`index = "sparse+https://lathe.example.com/gen/cargo/"`,
			`# index = "sparse+https://lathe.example.com/gen/cargo/auth/"`,
			"cargo add --registry lathe alice_weather_lathe_prost",
		}},
		{[]string{"sdk", "npm", "alice/weather", "bufbuild/es"}, []string{
			"@lathe:registry=http://127.0.0.1:8080/gen/npm/v1/",
			"# //127.0.0.1:8080/gen/npm/v1/:_authToken=<token>",
			"npm install @lathe/alice_weather.bufbuild_es",
		}},
		{[]string{"sdk", "python", "alice/weather", "protocolbuffers/python"}, []string{
			"uv pip install --index-url https://pypi.org/simple/ --extra-index-url http://127.0.0.1:8080/gen/python/simple/ alice-weather-protocolbuffers-python",
			"# pip install --index-url http://127.0.0.1:8080/gen/python/simple/ --extra-index-url https://pypi.org/simple/ alice-weather-protocolbuffers-python",
		}},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), c.args, mapEnv(nil), &stdout, &stderr); code != 0 {
			t.Errorf("lathe %v: exit %d: %s", c.args, code, stderr.String())
			continue
		}
		for _, line := range c.want {
			if !strings.Contains(stdout.String(), line+"\n") {
				t.Errorf("lathe %v printed no line %q:\n%s", c.args, line, stdout.String())
			}
		}
	}
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"sdk", "cargo", "alice/we.ather", "lathe/prost"}, mapEnv(nil), io.Discard, &stderr); code == 0 || !strings.Contains(stderr.String(), "crate names cannot hold '.'") {
		t.Errorf("a module with a dot: exit %d, %s", code, stderr.String())
	}
}

// --data is absolute once parsed, whether it came from the default, the environment or
// the command line: plugins run in working directories of their own, where the server's
// relative paths would name other files.
func TestDataFlagAbsolute(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{want: filepath.Join(wd, "lathe-data")},
		{env: map[string]string{"LATHE_DATA": "from/env"}, want: filepath.Join(wd, "from", "env")},
		{args: []string{"--data", "../up"}, want: filepath.Join(filepath.Dir(wd), "up")},
		{args: []string{"--data", "/abs/dir"}, want: "/abs/dir"},
	} {
		c := newCommand("test", "lathe test", "Test.", io.Discard)
		data := dataFlag(c)
		if _, err := c.parse(tc.args, mapEnv(tc.env)); err != nil {
			t.Fatal(err)
		}
		if *data != tc.want {
			t.Errorf("args %q, env %v: --data = %q, want %q", tc.args, tc.env, *data, tc.want)
		}
	}
}

// startServe runs lathe serve on data until the test ends and returns its URL.
func startServe(t *testing.T, data string) string {
	t.Helper()
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	exit := make(chan int, 1)
	go func() {
		defer pw.Close()
		exit <- run(ctx, []string{"serve", "--data", data, "--install-plugins=false"}, mapEnv(map[string]string{"LATHE_LISTEN": "127.0.0.1:0"}), pw, t.Output())
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("reading the serving line: %v (exit %d)", err, <-exit)
	}
	go io.Copy(io.Discard, pr)
	t.Cleanup(func() {
		cancel()
		if code := <-exit; code != 0 {
			t.Errorf("serve exited %d after cancellation", code)
		}
	})
	return strings.TrimSpace(strings.TrimPrefix(line, "lathe: serving on "))
}

func TestServeLocksDataDir(t *testing.T) {
	data := t.TempDir()
	url := startServe(t, data)

	var stdout, stderr strings.Builder
	began := time.Now()
	// Bounded, in case the second server does start.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	code := run(ctx, []string{"serve", "--data", data, "--listen", "127.0.0.1:0", "--install-plugins=false"}, mapEnv(nil), &stdout, &stderr)
	if code != 1 {
		t.Fatalf("second serve on the same data: exit %d, stdout %q", code, stdout.String())
	}
	if elapsed := time.Since(began); elapsed > 5*time.Second {
		t.Errorf("second serve took %v to fail", elapsed)
	}
	want := regexp.MustCompile(`data directory .* is in use by another lathe serve \(pid [0-9]+, started [^,]+, serving on ` + regexp.QuoteMeta(url) + `\); stop that server first, or give this one another --data`)
	if !want.MatchString(stderr.String()) {
		t.Fatalf("second serve's error %q does not name the holder", stderr.String())
	}
	if stdout.Len() != 0 {
		t.Errorf("second serve printed %q", stdout.String())
	}

	// The admin commands work beside the server.
	stdout.Reset()
	stderr.Reset()
	if code := run(context.Background(), []string{"user", "create", "carol", "--data", data}, mapEnv(nil), &stdout, &stderr); code != 0 {
		t.Fatalf("user create beside a server: exit %d, %s", code, stderr.String())
	}
}

func TestServeLockReleased(t *testing.T) {
	data := t.TempDir()
	// The subtest's cleanup stops the first server.
	t.Run("first", func(t *testing.T) { startServe(t, data) })
	startServe(t, data)
}
