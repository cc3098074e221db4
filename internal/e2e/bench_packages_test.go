package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkPackageServe compares serving a published npm tarball and a Python wheel (of
// a 2-file module) at 64 connections with nginx serving the same bytes, in the same run.
//
// go test -run XXX -bench PackageServe -benchtime 1x ./internal/e2e
func BenchmarkPackageServe(b *testing.B) {
	g := newGoSDKBench(b, 1, 2)
	defer g.stop()
	lathe := filepath.Join(binDir, "lathe"+exe)
	g.run(b, "", os.Environ(), lathe, "plugin", "install", "--data", g.data, "bufbuild/es")
	g.run(b, "", os.Environ(), lathe, "plugin", "push", "--data", g.data,
		"--shipped", "protocolbuffers/python", "--binary", filepath.Join(pluginDir, "protoc-gen-lathe-python"))
	g.run(b, g.mod, g.env, filepath.Join(binDir, "buf"+exe), "push", "--create", "--create-visibility", "public")
	base := "http://" + g.remote

	var packument struct {
		Versions map[string]struct {
			Dist struct{ Tarball string } `json:"dist"`
		} `json:"versions"`
	}
	if err := json.Unmarshal([]byte(httpBody(b, base+"/gen/npm/v1/@lathe/bench_big.bufbuild_es")), &packument); err != nil {
		b.Fatal(err)
	}
	var tarball string
	for _, v := range packument.Versions {
		tarball = v.Dist.Tarball
	}
	b.Run("npm-tarball", func(b *testing.B) {
		for b.Loop() {
			compareWithNginx(b, g.work, base, urlPath(b, tarball))
		}
	})

	req, err := http.NewRequest(http.MethodGet, base+"/gen/python/simple/bench-big-protocolbuffers-python/", nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Accept", "application/vnd.pypi.simple.v1+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	var page struct {
		Files []struct{ URL string } `json:"files"`
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || json.Unmarshal(data, &page) != nil || len(page.Files) == 0 {
		b.Fatalf("simple index page: %v\n%s", err, data)
	}
	wheel, err := url.JoinPath(base+"/gen/python/simple/bench-big-protocolbuffers-python/", page.Files[0].URL)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("python-wheel", func(b *testing.B) {
		for b.Loop() {
			compareWithNginx(b, g.work, base, urlPath(b, wheel))
		}
	})
}

func urlPath(b *testing.B, raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		b.Fatal(err)
	}
	return u.Path
}
