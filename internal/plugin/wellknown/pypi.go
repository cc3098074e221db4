package wellknown

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
)

// PyPI is the simple API (PEP 503) of the Python Package Index, where wheels are fetched
// from by default.
const PyPI = "https://pypi.org/simple/"

// wheelArchs maps GOARCH to the architecture of manylinux wheel tags.
var wheelArchs = map[string]string{ //nolint:gochecknoglobals // read-only table
	"amd64": "x86_64",
	"arm64": "aarch64",
}

// WheelName returns the file name of p's wheel for CPython with the given tag ("cp311")
// on linux/goarch, one of those Lathe pins.
func WheelName(p Plugin, pythonTag, goos, goarch string) (string, error) {
	src := p.Source
	if src.PyPIProject == "" {
		return "", fmt.Errorf("%s is not fetched from PyPI", p.ref())
	}
	prefix := fmt.Sprintf("%s-%s-%s-%s-", strings.ReplaceAll(src.PyPIProject, "-", "_"), src.PyPIVersion, pythonTag, pythonTag)
	var have []string
	for name := range src.WheelSHA256 {
		if goos == "linux" && strings.HasPrefix(name, prefix) && strings.HasSuffix(name, "_"+wheelArchs[goarch]+".whl") {
			return name, nil
		}
		have = append(have, name)
	}
	slices.Sort(have)
	return "", fmt.Errorf("%s: Lathe pins %s %s wheels for CPython %s only, not for %s on %s/%s: %s",
		p.ref(), src.PyPIProject, src.PyPIVersion, wheelPythons(have), pythonTag, goos, goarch, strings.Join(have, ", "))
}

// wheelPythons lists the Python tags of wheel file names.
func wheelPythons(names []string) string {
	var tags []string
	for _, n := range names {
		if parts := strings.Split(n, "-"); len(parts) > 2 && !slices.Contains(tags, parts[2]) {
			tags = append(tags, parts[2])
		}
	}
	return strings.Join(tags, ", ")
}

var hrefRE = regexp.MustCompile(`href="([^"]+)"`)

// FetchWheel downloads p's wheel of the given file name through the simple index at
// index (e.g. [PyPI], or a mirror of it) and checks it against the SHA-256 Lathe pins,
// so that neither a mirror nor the index can change the program.
func FetchWheel(ctx context.Context, p Plugin, index, name string) ([]byte, error) {
	want, ok := p.Source.WheelSHA256[name]
	if !ok {
		return nil, fmt.Errorf("%s: Lathe pins no wheel %s", p.ref(), name)
	}
	page, err := url.Parse(strings.TrimSuffix(index, "/") + "/" + p.Source.PyPIProject + "/")
	if err != nil {
		return nil, err
	}
	body, pageURL, err := get(ctx, page.String(), "text/html", 64<<20)
	if err != nil {
		return nil, fmt.Errorf("fetching %s for %s: %w", name, p.ref(), err)
	}
	var file *url.URL
	for _, m := range hrefRE.FindAllSubmatch(body, -1) {
		u, err := pageURL.Parse(html.UnescapeString(string(m[1])))
		if err == nil && path.Base(u.Path) == name {
			u.Fragment = ""
			file = u
			break
		}
	}
	if file == nil {
		return nil, fmt.Errorf("fetching %s for %s: the index page %s does not list it", name, p.ref(), page)
	}
	// grpcio-tools wheels are a few MiB; the cap keeps a misbehaving server from filling memory.
	wheel, _, err := get(ctx, file.String(), "", 256<<20)
	if err != nil {
		return nil, fmt.Errorf("fetching %s for %s: %w", name, p.ref(), err)
	}
	sum := sha256.Sum256(wheel)
	if got := hex.EncodeToString(sum[:]); got != want {
		return nil, fmt.Errorf("fetching %s for %s: %s (%d bytes) has SHA-256 %s, but Lathe pins %s: the index serves another file; use PyPI or a faithful mirror",
			name, p.ref(), file, len(wheel), got, want)
	}
	return wheel, nil
}

// get returns the body of a GET, up to limit bytes, and the URL it came from after redirects.
func get(ctx context.Context, u, accept string, limit int64) ([]byte, *url.URL, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, err
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err == nil && int64(len(body)) > limit {
		err = fmt.Errorf("more than %d bytes", limit)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("GET %s: %w", u, err)
	}
	return body, resp.Request.URL, nil
}
