package e2e

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/rogpeppe/go-internal/testscript"
)

// go-upstream starts a stand-in for the public Go module proxy on loopback and makes the
// next lathe-serve forward to it (--go-upstream). It records the path of every request it
// gets, one per line, in $GO_UPSTREAM_LOG, so that scripts can check what left Lathe. It
// answers from the host's module cache where it has the file, else from the host's own
// proxy (the first http or https entry of its GOPROXY), so that real modules resolve.
func cmdGoUpstream(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: go-upstream")
	}
	logFile := filepath.Join(ts.Getenv("WORK"), "go-upstream.log")
	log, err := os.Create(logFile)
	ts.Check(err)
	var hostProxy *url.URL
	for _, kv := range hostGoEnv {
		if v, ok := strings.CutPrefix(kv, "GOPROXY="); ok {
			for _, entry := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == '|' }) {
				if u, err := url.Parse(entry); err == nil && (u.Scheme == "http" || u.Scheme == "https") && hostProxy == nil {
					hostProxy = u
				}
			}
		}
	}
	cache := filepath.Join(ts.Getenv("GOMODCACHE"), "cache", "download")
	var forward http.Handler = http.NotFoundHandler()
	if hostProxy != nil {
		forward = &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(hostProxy)
			pr.Out.Host = hostProxy.Host
		}}
	}
	var mu sync.Mutex
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		fmt.Fprintln(log, r.URL.Path)
		mu.Unlock()
		// Versions' files never change, so the cache's copies are as good as the proxy's;
		// lists and @latest change, so they come from the proxy.
		rel := filepath.FromSlash(strings.TrimPrefix(r.URL.Path, "/"))
		if ext := filepath.Ext(rel); (ext == ".info" || ext == ".mod" || ext == ".zip") && !strings.Contains(rel, "..") {
			if _, err := os.Stat(filepath.Join(cache, rel)); err == nil {
				http.ServeFile(w, r, filepath.Join(cache, rel))
				return
			}
		}
		forward.ServeHTTP(w, r)
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	go srv.Serve(ln)
	ts.Defer(func() {
		srv.Close()
		log.Close()
	})
	ts.Setenv("GO_UPSTREAM", "http://"+ln.Addr().String())
	ts.Setenv("GO_UPSTREAM_LOG", logFile)
	ts.Setenv("LATHE_GO_UPSTREAM", "http://"+ln.Addr().String())
}
