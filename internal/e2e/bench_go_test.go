package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// goSDKBench is a lathe serve process with protocolbuffers/go and connectrpc/go and a
// pushed 100-file module, bench/big, and a consumer module set up to use its GOPROXY.
type goSDKBench struct {
	work, data, remote, mod, consumer string
	env, goEnv                        []string
	stop                              func()
}

func newGoSDKBench(b *testing.B, pkgs, files int) *goSDKBench {
	g := &goSDKBench{work: b.TempDir()}
	g.data = filepath.Join(g.work, "data")
	cmd, remote := startServe(b, g.data, io.Discard)
	g.stop = func() { stopServe(cmd) }
	g.remote = remote
	token := createUser(b, g.data, "bench")
	for _, p := range []string{"protocolbuffers-go", "connectrpc-go"} {
		bin := strings.Replace(strings.Replace(p, "protocolbuffers-go", "protoc-gen-go", 1), "connectrpc-go", "protoc-gen-connect-go", 1)
		push := exec.Command(filepath.Join(binDir, "lathe"+exe), "plugin", "push", "--data", g.data,
			"--config", filepath.Join(pluginDir, p+".yaml"), "--binary", filepath.Join(pluginDir, bin))
		if out, err := push.CombinedOutput(); err != nil {
			b.Fatalf("plugin push: %v\n%s", err, out)
		}
	}
	g.env = append(os.Environ(),
		"HOME="+filepath.Join(g.work, "home"),
		"BUF_CONFIG_DIR="+filepath.Join(g.work, "bufconfig"),
		"BUF_CACHE_DIR="+filepath.Join(g.work, "bufcache"),
		"BUF_TOKEN="+token+"@"+remote,
		"PATH="+pluginDir+string(os.PathListSeparator)+os.Getenv("PATH"),
	)
	writeFile(b, filepath.Join(g.work, "bufconfig", "config.yaml"), "version: v1\ntls:\n  use: false\n")
	g.mod = filepath.Join(g.work, "mod")
	generateModule(b, g.mod, remote, pkgs, files)
	g.consumer = filepath.Join(g.work, "consumer")
	writeFile(b, filepath.Join(g.consumer, "go.mod"), "module example.com/consumer\n\ngo 1.26\n")
	// The documented setup: Lathe as the only proxy, forwarding the runtime modules and
	// the checksum database to its upstream.
	g.goEnv = append(os.Environ(),
		"GOPROXY=http://"+remote+"/gen/go",
		"GOMODCACHE="+filepath.Join(g.work, "gomodcache"),
		"GOFLAGS=-modcacherw",
		"GONOSUMDB=127.0.0.1/gen/go",
		"GOTOOLCHAIN=local", "GOWORK=off",
	)
	return g
}

func (g *goSDKBench) run(b *testing.B, dir string, env []string, name string, args ...string) string {
	cmd := exec.Command(name, args...)
	cmd.Dir, cmd.Env = dir, env
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

var pushedCommit = regexp.MustCompile(`/bench/big:([0-9a-f]{32})`)

// BenchmarkGoGetAfterPush measures the time from buf push of a changed 100-file module to
// a successful go get of its protocolbuffers/go and connectrpc/go SDKs at the new
// version. The baseline, "local", is what a developer does without Lathe: buf build and
// buf generate with the same two plugins, in the same run.
//
// go test -run XXX -bench GoGetAfterPush -benchtime 10x ./internal/e2e
func BenchmarkGoGetAfterPush(b *testing.B) {
	g := newGoSDKBench(b, 10, 10)
	defer g.stop()
	buf := filepath.Join(binDir, "buf"+exe)
	writeFile(b, filepath.Join(g.mod, "local.gen.yaml"), "version: v2\nmanaged:\n  enabled: true\n  override:\n    - file_option: go_package_prefix\n      value: example.com/gen\nplugins:\n  - local: protoc-gen-go\n    out: out-local\n    opt: paths=source_relative\n  - local: protoc-gen-connect-go\n    out: out-local\n    opt: paths=source_relative\n")
	g.run(b, g.mod, g.env, buf, "push", "--create", "--create-visibility", "public")
	sdks := []string{"127.0.0.1/gen/go/bench/big/protocolbuffers/go@latest", "127.0.0.1/gen/go/bench/big/connectrpc/go@latest"}
	g.run(b, g.consumer, g.goEnv, "go", append([]string{"get"}, sdks...)...) // warms the runtime modules
	changed := filepath.Join(g.mod, "pkg9", "v1", "file9.proto")
	original, err := os.ReadFile(changed)
	if err != nil {
		b.Fatal(err)
	}
	i := 0
	touch := func() {
		i++
		writeFile(b, changed, string(original)+fmt.Sprintf("// change %d\n", i))
	}
	b.Run("local", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			touch()
			os.RemoveAll(filepath.Join(g.mod, "out-local"))
			b.StartTimer()
			g.run(b, g.mod, g.env, buf, "build", "-o", filepath.Join(g.work, "image.binpb"))
			g.run(b, g.mod, g.env, buf, "generate", filepath.Join(g.work, "image.binpb"), "--template", "local.gen.yaml")
		}
	})
	b.Run("lathe", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			touch()
			b.StartTimer()
			m := pushedCommit.FindStringSubmatch(g.run(b, g.mod, g.env, buf, "push"))
			if m == nil {
				b.Fatal("buf push printed no commit")
			}
			g.run(b, g.consumer, g.goEnv, "go", append([]string{"get"}, sdks...)...)
			b.StopTimer()
			goMod, err := os.ReadFile(filepath.Join(g.consumer, "go.mod"))
			if err != nil || strings.Count(string(goMod), "-"+m[1][:12]+".1") != 2 {
				b.Fatalf("go.mod does not require both SDKs at commit %s:\n%s", m[1], goMod)
			}
			b.StartTimer()
		}
	})
}

// BenchmarkGoProxyZip compares serving a published .zip at 64 concurrent connections with
// nginx serving the same bytes from disk, in the same run: requests per second and p99
// latency of each, and their ratio, for the SDK of a 2-file module (a small zip, where
// per-request work shows) and of a 100-file module (1 MB, where bandwidth does). It needs
// nginx on PATH (or in /usr/sbin).
//
// go test -run XXX -bench GoProxyZip -benchtime 1x ./internal/e2e
func BenchmarkGoProxyZip(b *testing.B) {
	for _, size := range []struct {
		name        string
		pkgs, files int
	}{{"files=2", 1, 2}, {"files=100", 10, 10}} {
		b.Run(size.name, func(b *testing.B) { benchGoProxyZip(b, size.pkgs, size.files) })
	}
}

func benchGoProxyZip(b *testing.B, pkgs, files int) {
	g := newGoSDKBench(b, pkgs, files)
	defer g.stop()
	g.run(b, g.mod, g.env, filepath.Join(binDir, "buf"+exe), "push", "--create", "--create-visibility", "public")
	version := strings.TrimSpace(httpBody(b, "http://"+g.remote+"/gen/go/127.0.0.1/gen/go/bench/big/protocolbuffers/go/@v/list"))
	path := "/gen/go/127.0.0.1/gen/go/bench/big/protocolbuffers/go/@v/" + version + ".zip"
	b.Logf("zip: %d bytes", len(httpBody(b, "http://"+g.remote+path)))
	for b.Loop() {
		compareWithNginx(b, g.work, "http://"+g.remote, path)
	}
}

// compareWithNginx serves the bytes lathe serves at path from disk with nginx and
// loads both at 64 connections, reporting requests per second, p99 latency and the
// ratio lathe/nginx. It needs nginx on PATH (or in /usr/sbin).
func compareWithNginx(b *testing.B, work, latheURL, path string) {
	nginx, err := exec.LookPath("nginx")
	if err != nil {
		if nginx, err = exec.LookPath("/usr/sbin/nginx"); err != nil {
			b.Skip("nginx is not installed (apt-get install nginx-light)")
		}
	}
	data := httpBody(b, latheURL+path)
	dir := b.TempDir()
	writeFile(b, filepath.Join(dir, "www", path), data)
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o755); err != nil {
		b.Fatal(err)
	}
	port := freePort(b)
	conf := filepath.Join(dir, "nginx.conf")
	writeFile(b, conf, fmt.Sprintf(`daemon off;
user root;
worker_processes auto;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path %[1]s/tmp;
  proxy_temp_path %[1]s/tmp;
  fastcgi_temp_path %[1]s/tmp;
  uwsgi_temp_path %[1]s/tmp;
  scgi_temp_path %[1]s/tmp;
  server {
    listen 127.0.0.1:%[2]d;
    root %[1]s/www;
    default_type application/octet-stream;
  }
}
`, dir, port))
	ng := exec.Command(nginx, "-c", conf, "-e", filepath.Join(dir, "error.log"))
	if err := ng.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = ng.Process.Kill(); _ = ng.Wait() }()
	nginxURL := fmt.Sprintf("http://127.0.0.1:%d%s", port, path)
	waitFor(b, nginxURL, len(data))
	lr, lp := load(b, latheURL+path, 64, 5*time.Second, len(data))
	nr, np := load(b, nginxURL, 64, 5*time.Second, len(data))
	b.ReportMetric(lr, "lathe-req/s")
	b.ReportMetric(nr, "nginx-req/s")
	b.ReportMetric(lr/nr, "ratio")
	b.ReportMetric(float64(lp)/float64(time.Millisecond), "lathe-p99-ms")
	b.ReportMetric(float64(np)/float64(time.Millisecond), "nginx-p99-ms")
}

func httpBody(b *testing.B, url string) string {
	resp, err := http.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("GET %s: %d %v\n%s", url, resp.StatusCode, err, body)
	}
	return string(body)
}

func freePort(b *testing.B) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func waitFor(b *testing.B, url string, size int) {
	for range 100 {
		if resp, err := http.Get(url); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && len(body) == size {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.Fatalf("%s did not come up", url)
}

// load GETs url from c keep-alive connections for d and returns requests per second and
// the 99th percentile latency. It uses wrk if it is installed, since a load generator in
// Go takes much of the CPU it measures; otherwise every response must be 200 with size
// bytes.
func load(b *testing.B, url string, c int, d time.Duration, size int) (float64, time.Duration) {
	if wrk, err := exec.LookPath("wrk"); err == nil {
		return loadWrk(b, wrk, url, c, d)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: c, MaxConnsPerHost: c, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var (
		mu        sync.Mutex
		latencies []time.Duration
		failure   error
		wg        sync.WaitGroup
	)
	start := time.Now()
	for range c {
		wg.Go(func() {
			var mine []time.Duration
			for ctx.Err() == nil {
				t := time.Now()
				resp, err := client.Get(url)
				if err != nil {
					break
				}
				n, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || n != int64(size) {
					mu.Lock()
					failure = fmt.Errorf("GET %s: %d, %d bytes", url, resp.StatusCode, n)
					mu.Unlock()
					break
				}
				mine = append(mine, time.Since(t))
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if failure != nil {
		b.Fatal(failure)
	}
	if len(latencies) == 0 {
		b.Fatalf("no requests to %s succeeded", url)
	}
	slices.Sort(latencies)
	return float64(len(latencies)) / elapsed.Seconds(), latencies[len(latencies)*99/100]
}

var (
	wrkRate = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkP99  = regexp.MustCompile(`\s99%\s+([0-9.]+)(us|ms|s)`)
	wrkErrs = regexp.MustCompile(`Non-2xx or 3xx responses|Socket errors`)
)

func loadWrk(b *testing.B, wrk, url string, c int, d time.Duration) (float64, time.Duration) {
	out, err := exec.Command(wrk, "-t2", fmt.Sprintf("-c%d", c), fmt.Sprintf("-d%ds", int(d.Seconds())), "--latency", url).CombinedOutput()
	if err != nil || wrkErrs.Match(out) {
		b.Fatalf("wrk %s: %v\n%s", url, err, out)
	}
	rate, p99 := wrkRate.FindSubmatch(out), wrkP99.FindSubmatch(out)
	if rate == nil || p99 == nil {
		b.Fatalf("wrk printed no rate or p99:\n%s", out)
	}
	r, _ := strconv.ParseFloat(string(rate[1]), 64)
	lat, err := time.ParseDuration(string(p99[1]) + string(p99[2]))
	if err != nil {
		b.Fatal(err)
	}
	return r, lat
}
