package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"

	gomodule "golang.org/x/mod/module"

	"github.com/lathe-registry/lathe/internal/api"
	"github.com/lathe-registry/lathe/internal/auth"
	"github.com/lathe-registry/lathe/internal/blob/fsblob"
	"github.com/lathe-registry/lathe/internal/limit"
	"github.com/lathe-registry/lathe/internal/module"
	"github.com/lathe-registry/lathe/internal/registry"
	"github.com/lathe-registry/lathe/internal/sdk"
	"github.com/lathe-registry/lathe/internal/sdk/cargosdk"
	"github.com/lathe-registry/lathe/internal/sdk/gosdk"
	"github.com/lathe-registry/lathe/internal/sdk/npmsdk"
	"github.com/lathe-registry/lathe/internal/sdk/pysdk"
	"github.com/lathe-registry/lathe/internal/server"
	"github.com/lathe-registry/lathe/internal/store/sqlitestore"
)

const defaultDataDir = "./lathe-data"

// dataFlag defines the --data flag shared by all commands that open the stores.
func dataFlag(c *command) *string {
	dir := c.String("data", defaultDataDir, "`DIR` holding the metadata database (lathe.db) and the blobs")
	c.dirs = append(c.dirs, dir)
	return dir
}

func cmdServe(ctx context.Context, e env, args []string) error {
	c := newCommand("serve", "lathe serve [flags]",
		`Serve the registry API to buf clients until SIGINT or SIGTERM, then shut
down gracefully. Once listening, it prints one line to stdout:
"lathe: serving on URL", with the port actually bound.`, e.stdout)
	data := dataFlag(c)
	listen := c.String("listen", "127.0.0.1:8080", "TCP `ADDR` (host:port) to listen on; port 0 picks a free one")
	tlsCert := c.String("tls-cert", "", "PEM certificate chain `FILE`; with --tls-key, serve HTTPS only")
	tlsKey := c.String("tls-key", "", "PEM private key `FILE` of --tls-cert")
	maxRequestBytes := c.Int64("max-request-bytes", server.DefaultMaxRequestBytes, "reject request bodies larger than `BYTES`")
	readHeaderTimeout := c.Duration("read-header-timeout", server.DefaultReadHeaderTimeout, "longest `DURATION` a client may take to send request headers")
	readBodyTimeout := c.Duration("read-body-timeout", server.DefaultBodyTimeout, "`DURATION` a client may take to send a request body, plus a second for every --min-body-rate bytes it has sent")
	minBodyRate := c.Int64("min-body-rate", server.DefaultMinBodyRate, "`BYTES` a second below which a request body stops buying time (see --read-body-timeout)")
	idleTimeout := c.Duration("idle-timeout", server.DefaultIdleTimeout, "`DURATION` after which an idle keep-alive connection is closed")
	maxConnections := c.Int("max-connections", server.DefaultMaxConnections, "most connections open at once (`N`); more wait until one closes")
	maxExpensive := c.Int("max-expensive-calls", defaultMaxExpensive, "most uploads and code or SDK generation calls running at once (`N`); more are answered resource_exhausted")
	maxExpensivePerCaller := c.Int("max-expensive-calls-per-caller", defaultMaxExpensivePerCaller, "most of --max-expensive-calls one user, or one address for anonymous callers, may have running (`N`)")
	maxSDKRequests := c.Int("max-sdk-requests", defaultMaxSDKRequests, "most requests to the package registries (/gen/) running at once (`N`); more are answered 429")
	maxSDKRequestsPerCaller := c.Int("max-sdk-requests-per-caller", defaultMaxSDKRequestsPerCaller, "most of --max-sdk-requests one user, or one address for anonymous callers, may have running (`N`)")
	maxFiles := c.Int("max-files", module.DefaultLimits.MaxFiles, "most files one module commit may have (`N`)")
	maxFileBytes := c.Int("max-file-bytes", module.DefaultLimits.MaxFileBytes, "largest size of one module file, in `BYTES`")
	maxModuleBytes := c.Int("max-module-bytes", module.DefaultLimits.MaxModuleBytes, "largest total size of one module commit's files, in `BYTES`")
	maxFileTokens := c.Int("max-file-tokens", module.DefaultLimits.MaxFileTokens, "most tokens, comments included, one .proto file may have (`N`)")
	maxNesting := c.Int("max-nesting", module.DefaultLimits.MaxNesting, "deepest one .proto file may nest braces, brackets, parentheses and angle brackets (`N`)")
	maxUploadTokens := c.Int("max-upload-tokens", module.DefaultLimits.MaxUploadTokens, "most tokens the .proto files of one module commit, and of one upload, may have (`N`)")
	compileTokens := c.Int("compile-tokens", module.DefaultLimits.MaxUploadTokens, "most tokens all compilations together may be compiling at once (`N`); each takes up to about 1 KiB of memory, so this bounds their memory in total")
	seed := c.Bool("seed-example", true, "on a new data directory, create the public example module demo/weather")
	installGo := c.Bool("install-plugins", true, "on a new data directory, build and publish the shipped Go plugins (protocolbuffers/go, grpc/go, connectrpc/go) in the background; needs the go command and a Go module proxy")
	parseCacheBytes := c.Int("parse-cache-bytes", registry.DefaultParseCacheBytes, "`BYTES` of .proto source whose parse results are kept to speed up pushes; 0 disables")
	publicURL := c.String("public-url", "", "`URL` clients reach the server at, for package registry URLs; default: the URL it listens on")
	goHost := c.String("go-host", "", "`HOST` that Go SDK module paths start with (HOST/gen/go/...); default: the host of --public-url without its port")
	anonymousGenerations := c.Int("anonymous-generations", sdk.DefaultAnonymousGenerations, "most new SDK versions requests without a token from one client address may have generated a minute (`N`); more are answered 429; 0 allows none")
	maxJobWaiters := c.Int("max-job-waiters", sdk.DefaultMaxWaiters, "most requests told at once that the SDK generation they wait for is done (`N`); more wait as long but notice only when they next read the store")
	goUpstream := c.String("go-upstream", gosdk.DefaultUpstream, "module proxy `URL` the Go module proxy forwards every other module and the checksum database to, so that it can be the go command's only GOPROXY; off forwards nothing")
	ef := addEngineFlags(c)
	var logLevel slog.Level
	c.TextVar(&logLevel, "log-level", slog.LevelInfo, "log `LEVEL`: debug, info, warn or error")
	args, err := c.parse(args, e.getenv)
	if err != nil {
		return err
	}
	if len(args) > 0 {
		return c.usageErrorf("unexpected argument %q", args[0])
	}
	if *maxRequestBytes <= 0 {
		return c.usageErrorf("--max-request-bytes must be positive")
	}
	if *maxFiles <= 0 || *maxFileBytes <= 0 || *maxModuleBytes <= 0 || *parseCacheBytes < 0 {
		return c.usageErrorf("--max-files, --max-file-bytes and --max-module-bytes must be positive, --parse-cache-bytes not negative")
	}
	if *maxFileTokens <= 0 || *maxNesting <= 0 || *maxUploadTokens <= 0 || *compileTokens <= 0 {
		return c.usageErrorf("--max-file-tokens, --max-nesting, --max-upload-tokens and --compile-tokens must be positive")
	}
	if *maxJobWaiters < 0 || *anonymousGenerations < 0 {
		return c.usageErrorf("--max-job-waiters and --anonymous-generations must not be negative")
	}
	if *readHeaderTimeout <= 0 || *readBodyTimeout <= 0 || *idleTimeout <= 0 {
		return c.usageErrorf("--read-header-timeout, --read-body-timeout and --idle-timeout must be positive")
	}
	if *minBodyRate <= 0 || *maxConnections <= 0 {
		return c.usageErrorf("--min-body-rate and --max-connections must be positive")
	}
	if *maxExpensive <= 0 || *maxExpensivePerCaller <= 0 || *maxSDKRequests <= 0 || *maxSDKRequestsPerCaller <= 0 {
		return c.usageErrorf("--max-expensive-calls, --max-sdk-requests and their -per-caller limits must be positive")
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return c.usageErrorf("--tls-cert and --tls-key must be given together")
	}
	upstream, err := parseUpstream(*goUpstream)
	if err != nil {
		return c.usageErrorf("%v", err)
	}
	logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: logLevel}))

	// Private, as openMetadata would make it: the lock file is in it.
	if err := os.MkdirAll(*data, 0o700); err != nil {
		return fmt.Errorf("creating data directory: %w", err)
	}
	lock, err := lockDataDir(*data)
	if err != nil {
		return err
	}
	defer lock.release() // after the stores close: deferred first
	_, statErr := os.Stat(filepath.Join(*data, "lathe.db"))
	fresh := errors.Is(statErr, fs.ErrNotExist)
	st, err := openMetadata(*data)
	if err != nil {
		return err
	}
	defer st.Close()
	blobs, err := fsblob.Open(filepath.Join(*data, "blobs"), fsblob.WithLogger(logger))
	if err != nil {
		return fmt.Errorf("opening blob store: %w", err)
	}

	srv, err := server.Listen(server.Config{
		Listen:            *listen,
		TLSCert:           *tlsCert,
		TLSKey:            *tlsKey,
		MaxRequestBytes:   *maxRequestBytes,
		ReadHeaderTimeout: *readHeaderTimeout,
		BodyTimeout:       *readBodyTimeout,
		MinBodyRate:       *minBodyRate,
		IdleTimeout:       *idleTimeout,
		MaxConnections:    *maxConnections,
		Logger:            logger,
	})
	if err != nil {
		return err
	}
	reg := registry.New(st, blobs,
		registry.WithLogger(logger),
		registry.WithLimits(module.Limits{
			MaxFiles: *maxFiles, MaxFileBytes: *maxFileBytes, MaxModuleBytes: *maxModuleBytes,
			MaxFileTokens: *maxFileTokens, MaxNesting: *maxNesting, MaxUploadTokens: *maxUploadTokens,
			Budget: module.NewCompileBudget(*compileTokens),
		}),
		registry.WithParseCacheBytes(*parseCacheBytes))
	if fresh && *seed {
		if err := seedExample(ctx, st, reg); err != nil {
			srv.Close()
			return fmt.Errorf("creating the example module: %w", err)
		}
		logger.Info("created the public example module demo/weather")
	}
	engine, closeEngine, err := newEngine(ctx, ef, *data, st, blobs, logger)
	if err != nil {
		srv.Close()
		return err
	}
	defer closeEngine()
	if fresh && *installGo {
		var wg sync.WaitGroup
		defer wg.Wait() // before the stores close
		wg.Go(func() { installShipped(ctx, reg, engine, logger) })
	}
	public, paths, err := publicEndpoints(*publicURL, *goHost, srv.URL())
	if err != nil {
		srv.Close()
		return c.usageErrorf("%v", err)
	}
	sdks := sdk.New(reg, blobs, engine, sdk.WithLogger(logger), sdk.WithAnonymousGenerations(*anonymousGenerations))
	mux := http.NewServeMux()
	sdkRequests := limit.New("package registry requests", *maxSDKRequestsPerCaller, *maxSDKRequests)
	limited := func(h http.Handler, edge *sdk.Edge) http.Handler {
		return limitSDKRequests(h, sdkRequests, reg.Users(), edge)
	}
	goProxy := &gosdk.Proxy{Packager: gosdk.Packager{Paths: paths, SDKs: sdks}, PublicURL: public, Upstream: upstream, Log: logger}
	goLimited := limited(goProxy, &sdk.Edge{Ecosystem: gosdk.Ecosystem, Log: logger})
	mux.Handle(gosdk.Prefix, goLimited)
	mux.Handle(strings.TrimSuffix(gosdk.Prefix, "/"), goLimited) // the go-get=1 check of the root path
	// Ecosystems whose indexes list checksums publish versions ahead of requests, through
	// the job queue.
	crates, npmPackages, pyPackages := eagerEcosystems(sdks, public)
	// Go modules are generated when first asked for; they are in the queue too, for
	// explicit requests (lathe sdk generate) and so that failures are listed with the rest.
	jobs := sdk.NewJobs(sdks, logger, crates, npmPackages, pyPackages, &goProxy.Packager)
	jobs.SetMaxWaiters(*maxJobWaiters)
	mux.Handle("/", api.Handler(reg, api.Config{MaxMessageBytes: *maxRequestBytes, Logger: logger, Engine: engine, Jobs: jobs,
		Expensive: limit.New("uploads and generations", *maxExpensivePerCaller, *maxExpensive)}))
	mux.Handle(cargosdk.Prefix, limited(&cargosdk.Registry{Packager: crates, Jobs: jobs, PublicURL: public, Log: logger},
		&sdk.Edge{Ecosystem: cargosdk.Ecosystem, Log: logger}))
	mux.Handle(pysdk.Prefix, limited(&pysdk.Index{Packager: pyPackages, Jobs: jobs, Log: logger},
		&sdk.Edge{Ecosystem: pysdk.Ecosystem, Log: logger}))
	mux.Handle(npmsdk.Prefix, limited(&npmsdk.Registry{Packager: npmPackages, Jobs: jobs, Log: logger},
		&sdk.Edge{Ecosystem: npmsdk.Ecosystem, Log: logger, JSON: true}))
	jobsCtx, stopJobs := context.WithCancel(ctx)
	var jobsDone sync.WaitGroup
	jobsDone.Go(func() { jobs.Run(jobsCtx, *ef.workers) })
	defer jobsDone.Wait() // before the stores close
	defer stopJobs()
	if err := lock.serving(srv.URL()); err != nil {
		srv.Close()
		return err
	}
	var h http.Handler = mux
	// Tests and scripts read this line to learn the port; keep its format.
	fmt.Fprintf(e.stdout, "lathe: serving on %s\n", srv.URL())
	logger.Info("serving", "url", srv.URL(), "public_url", public, "go_modules", paths.Root(), "go_upstream", *goUpstream, "data", *data, "version", versionString())
	if err := srv.Serve(ctx, h); err != nil {
		return err
	}
	logger.Info("stopped")
	return nil
}

// Defaults of the caps on concurrent expensive requests. A compilation or a plugin run
// can take a core and much memory for seconds, so few run at once; a package manager
// sends many requests at once, most of them cheap, so the package registries allow
// many.
const (
	defaultMaxExpensive            = 8
	defaultMaxExpensivePerCaller   = 4
	defaultMaxSDKRequests          = 256
	defaultMaxSDKRequestsPerCaller = 32
)

// limitSDKRequests caps the requests to a package registry running at once, per caller
// and in all: whether a request will generate a package is known only deep inside the
// registry, so each one counts. The caller is the user a token names, else the remote
// address; the registry itself answers a token that names no one.
func limitSDKRequests(h http.Handler, l *limit.Limiter, users auth.Users, edge *sdk.Edge) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var userID string
		if ctx, err := auth.FromRequest(r.Context(), users, r); err == nil {
			if u, ok := auth.User(ctx); ok {
				userID = u.ID
			}
		}
		release, err := l.Acquire(limit.Caller(userID, r.RemoteAddr))
		if err != nil {
			edge.Fail(w, r, err)
			return
		}
		defer release()
		h.ServeHTTP(w, r)
	})
}

// eagerEcosystems are the SDK ecosystems whose indexes list checksums, so that versions
// are published ahead of requests through the job queue.
func eagerEcosystems(sdks *sdk.Service, public string) (*cargosdk.Packager, *npmsdk.Packager, *pysdk.Packager) {
	return &cargosdk.Packager{SDKs: sdks, IndexURL: "sparse+" + public + cargosdk.Prefix},
		&npmsdk.Packager{SDKs: sdks, RegistryURL: public + strings.TrimSuffix(npmsdk.Prefix, "/")},
		&pysdk.Packager{SDKs: sdks}
}

// publicEndpoints returns the public URL (without a trailing slash) and the Go module
// paths of a server listening at listenURL.
func publicEndpoints(publicURL, goHost, listenURL string) (string, gosdk.Paths, error) {
	if publicURL == "" {
		// A server listening on every interface, or on a name Go module paths cannot
		// start with, is at least reachable as 127.0.0.1 on this machine.
		u, err := url.Parse(listenURL)
		if err != nil {
			return "", gosdk.Paths{}, err
		}
		if ip := net.ParseIP(u.Hostname()); (ip != nil && ip.IsUnspecified()) || (goHost == "" && !strings.Contains(u.Hostname(), ".")) {
			u.Host = net.JoinHostPort("127.0.0.1", u.Port())
		}
		publicURL = u.String()
	}
	u, err := url.Parse(publicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", gosdk.Paths{}, fmt.Errorf("--public-url %q must be an http or https URL such as https://lathe.example.com", publicURL)
	}
	if goHost == "" {
		goHost = u.Hostname()
	}
	paths := gosdk.Paths{Host: goHost}
	if err := gomodule.CheckPath(paths.Root() + "/o/m/p/n"); err != nil {
		return "", gosdk.Paths{}, fmt.Errorf("Go module paths cannot start with %q (%v); set --go-host to a lowercase host name with a dot, e.g. lathe.example.com", goHost, err)
	}
	return strings.TrimSuffix(u.String(), "/"), paths, nil
}

// parseUpstream reads --go-upstream: an http or https URL, or "off" for none.
func parseUpstream(s string) (*url.URL, error) {
	if s == "off" {
		return nil, nil //nolint:nilnil // off is no upstream, and no error
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("--go-upstream %q must be off or a module proxy's http or https URL, such as %s", s, gosdk.DefaultUpstream)
	}
	return u, nil
}

// openMetadata opens (creating if needed) the SQLite metadata store in dir.
func openMetadata(dir string) (*sqlitestore.Store, error) {
	// The data holds password-equivalent token hashes: keep it private.
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating data directory: %w", err)
	}
	st, err := sqlitestore.Open(filepath.Join(dir, "lathe.db"))
	if err != nil {
		return nil, fmt.Errorf("opening metadata store: %w", err)
	}
	return st, nil
}
