package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/lathe-registry/lathe/internal/plugin/wellknown"
)

// cargoConfig is the cargo configuration of scripts: the registry "lathe" with the
// sparse index at index. Everything else comes from crates.io.
func cargoConfig(index string) string {
	return fmt.Sprintf("[registries.lathe]\nindex = %s\ncredential-provider = \"cargo:token\"\n", strconv.Quote(index))
}

// buildRustPlugins builds the shipped Rust plugin, lathe/prost, once per source into the
// user cache, links it into dir and writes its buf.plugin.yaml as lathe-prost.yaml.
func buildRustPlugins(cache, dir string) error {
	// The build's own cargo home keeps its crates between runs; its empty configuration
	// leaves cargo's defaults (crates.io), whatever the developer's says.
	home := filepath.Join(cache, "cargo-home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(home, "config.toml"), nil, 0o644); err != nil {
		return err
	}
	for _, p := range wellknown.List() {
		if p.Source.CargoDir == "" {
			continue
		}
		sum, err := sourceHash(p)
		if err != nil {
			return err
		}
		cached := filepath.Join(cache, p.Source.CargoDir+"-"+sum)
		if _, err := os.Stat(cached); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: building %s with cargo\n", p.Config.Ref())
			os.Setenv("CARGO_HOME", home)
			err := wellknown.BuildCargo(context.Background(), p, cached)
			os.Unsetenv("CARGO_HOME")
			if err != nil {
				return err
			}
		}
		if err := linkOrCopy(cached, filepath.Join(dir, p.Source.CargoDir)); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, p.Config.Owner+"-"+p.Config.Name+".yaml"), p.Raw, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// sourceHash identifies a Rust plugin's embedded source and configuration.
func sourceHash(p wellknown.Plugin) (string, error) {
	h := sha256.New()
	h.Write(p.Raw)
	err := fs.WalkDir(wellknown.Sources(), p.Source.CargoDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(wellknown.Sources(), path)
		fmt.Fprintf(h, "%s %d\n", path, len(data))
		h.Write(data)
		return err
	})
	return hex.EncodeToString(h.Sum(nil))[:16], err
}

// cargo-home REGISTRY-PATH points cargo at a fresh $WORK/cargo-home whose config names
// the registry "lathe" with index sparse+$LATHE_URL/REGISTRY-PATH (e.g. gen/cargo/).
func cmdCargoHome(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: cargo-home REGISTRY-PATH")
	}
	home := ts.MkAbs("cargo-home")
	ts.Check(os.MkdirAll(home, 0o755))
	index := "sparse+" + ts.Getenv("LATHE_URL") + "/" + args[0]
	ts.Check(os.WriteFile(filepath.Join(home, "config.toml"), []byte(cargoConfig(index)), 0o644))
	ts.Setenv("CARGO_HOME", home)
	ts.Setenv("CARGO_TARGET_DIR", ts.MkAbs("cargo-target"))
}

func cmdHTTPWait(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: httpwait URL REGEXP")
	}
	re, err := regexp.Compile(args[1])
	ts.Check(err)
	client := state(ts).httpClient(ts)
	deadline := time.Now().Add(10 * time.Second)
	start := time.Now()
	var last string
	for time.Now().Before(deadline) {
		if resp, err := client.Get(args[0]); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			last = fmt.Sprintf("%s\n%s", resp.Status, body)
			if resp.StatusCode == http.StatusOK && re.Match(body) {
				ts.Logf("matched after %v", time.Since(start).Round(time.Millisecond))
				ts.Stdout().Write(body)
				return
			}
		} else {
			last = err.Error()
		}
		time.Sleep(100 * time.Millisecond)
	}
	ts.Fatalf("GET %s did not match %q within 10s; last answer: %s", args[0], args[1], last)
}
