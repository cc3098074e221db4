package wellknown

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// FetchNPM installs the npm plugin p at its pinned version under dir (into
// dir/node_modules, recording it in dir/package.json so several plugins can share dir)
// and returns the absolute path of the plugin's JavaScript entry, to run as
// "node <entry>". It needs npm on PATH; install scripts are not run, because a plugin
// package has no business running code at install time.
func FetchNPM(ctx context.Context, p Plugin, dir string) (entry string, err error) {
	src := p.Source
	if src.NPMPackage == "" || src.NPMVersion == "" {
		return "", fmt.Errorf("%s is not fetched from npm", p.ref())
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", fmt.Errorf("fetching %s needs npm (Node.js) on PATH: %w", p.ref(), err)
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, npm, "install", "--prefix", dir,
		"--no-audit", "--no-fund", "--ignore-scripts", "--no-update-notifier", "--save-exact",
		"--loglevel=error", src.NPMPackage+"@"+src.NPMVersion)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("fetching %s: npm install %s@%s: %w\n%s", p.ref(), src.NPMPackage, src.NPMVersion, err, bytes.TrimSpace(out))
	}
	return NPMEntry(p, dir)
}

// NPMEntry returns the entry of p in a dir that [FetchNPM] installed it into, checking
// that the installed version is the pinned one. It lets a caller reuse an installation
// without running npm.
func NPMEntry(p Plugin, dir string) (string, error) {
	src := p.Source
	if src.NPMPackage == "" || src.NPMVersion == "" {
		return "", fmt.Errorf("%s is not fetched from npm", p.ref())
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	pkgDir := filepath.Join(dir, "node_modules", filepath.FromSlash(src.NPMPackage))
	data, err := os.ReadFile(filepath.Join(pkgDir, "package.json"))
	if err != nil {
		return "", fmt.Errorf("%s is not installed in %s: %w", src.NPMPackage, dir, err)
	}
	var pj struct {
		Version string          `json:"version"`
		Bin     json.RawMessage `json:"bin"`
	}
	if err := json.Unmarshal(data, &pj); err != nil {
		return "", fmt.Errorf("%s/package.json: %w", src.NPMPackage, err)
	}
	if pj.Version != src.NPMVersion {
		return "", fmt.Errorf("%s in %s is version %s, want %s", src.NPMPackage, dir, pj.Version, src.NPMVersion)
	}
	bin, err := binPath(pj.Bin, src.NPMBin)
	if err != nil {
		return "", fmt.Errorf("%s/package.json: %w", src.NPMPackage, err)
	}
	entry := filepath.Join(pkgDir, filepath.FromSlash(bin))
	// A bin path that climbs out of the package is not something to run.
	if !strings.HasPrefix(entry, pkgDir+string(filepath.Separator)) {
		return "", fmt.Errorf("%s/package.json: bin %q is outside the package", src.NPMPackage, bin)
	}
	if _, err := os.Stat(entry); err != nil {
		return "", fmt.Errorf("%s: entry: %w", src.NPMPackage, err)
	}
	return entry, nil
}

// binPath reads package.json "bin", which is either a path (the bin is named after the
// package) or an object of names to paths.
func binPath(raw json.RawMessage, name string) (string, error) {
	if len(raw) == 0 {
		return "", errors.New(`no "bin" entry`)
	}
	var single string
	if err := json.Unmarshal(raw, &single); err == nil {
		return single, nil
	}
	var bins map[string]string
	if err := json.Unmarshal(raw, &bins); err != nil {
		return "", fmt.Errorf(`"bin" is neither a path nor an object: %w`, err)
	}
	if name == "" && len(bins) == 1 {
		for _, v := range bins {
			return v, nil
		}
	}
	if v, ok := bins[name]; ok && v != "" {
		return v, nil
	}
	return "", fmt.Errorf(`"bin" has no entry %q`, name)
}
