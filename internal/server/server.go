// Package server runs Lathe's HTTP server: HTTP/1.1 and HTTP/2 (h2c on plain
// TCP, h2 over TLS), with protective timeouts and limits, a /healthz endpoint
// and graceful shutdown.
//
// What a client can hold is bounded: the number of connections
// ([Config.MaxConnections]), the time to send headers
// ([Config.ReadHeaderTimeout]), the rate at which a body arrives
// ([Config.BodyTimeout], [Config.MinBodyRate]), a body's size
// ([Config.MaxRequestBytes]) and how long a connection may stay idle
// ([Config.IdleTimeout]). Responses have no time limit: downloads of large
// archives and streams may legitimately take long.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"
)

// Defaults for the zero values of [Config].
const (
	DefaultMaxRequestBytes   = 32 << 20
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultIdleTimeout       = 2 * time.Minute
	DefaultBodyTimeout       = 30 * time.Second
	DefaultMinBodyRate       = 1 << 10
	DefaultMaxConnections    = 1024
	DefaultMaxHeaderBytes    = 64 << 10
	DefaultShutdownTimeout   = 10 * time.Second
)

// HealthPath answers GET with 200 "ok" while the server is serving.
const HealthPath = "/healthz"

// Config configures a server. Zero values select the defaults above.
type Config struct {
	// Listen is the TCP address to bind, e.g. "127.0.0.1:8080" or ":0".
	Listen string
	// TLSCert and TLSKey are PEM files. If both are set the server speaks TLS
	// only (h2 and HTTP/1.1 via ALPN); if neither, plain HTTP/1.1 and h2c.
	TLSCert, TLSKey string
	// MaxRequestBytes caps every request body. The Connect handlers enforce
	// their own message limits too; this is the backstop for everything else.
	MaxRequestBytes int64
	// ReadHeaderTimeout bounds how long a client may take to send request
	// headers, so slow-header (slowloris) clients cannot pin connections.
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes keep-alive connections that stay idle this long.
	IdleTimeout time.Duration
	// BodyTimeout and MinBodyRate bound how slowly a request body may arrive:
	// its reading may take BodyTimeout, plus one second for every MinBodyRate
	// bytes received, as Apache's mod_reqtimeout counts. A client that sends
	// faster than MinBodyRate bytes a second may take as long as its body's
	// size needs; one that trickles or stalls loses the connection. Without
	// it, a body sent a byte a second would hold a connection and a handler
	// for as long as the client likes.
	BodyTimeout time.Duration
	MinBodyRate int64
	// MaxConnections caps the connections open at once; further clients wait
	// in the listen queue until one closes.
	MaxConnections int
	// MaxHeaderBytes caps the size of request headers.
	MaxHeaderBytes int
	// ShutdownTimeout is how long in-flight requests may run after the
	// context is cancelled before connections are closed forcibly.
	ShutdownTimeout time.Duration
	// Logger receives server errors; nil means slog.Default().
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.MaxRequestBytes <= 0 {
		c.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if c.ReadHeaderTimeout <= 0 {
		c.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.BodyTimeout <= 0 {
		c.BodyTimeout = DefaultBodyTimeout
	}
	if c.MinBodyRate <= 0 {
		c.MinBodyRate = DefaultMinBodyRate
	}
	if c.MaxConnections <= 0 {
		c.MaxConnections = DefaultMaxConnections
	}
	if c.MaxHeaderBytes <= 0 {
		c.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Server is a bound, not yet serving server. Binding is separate from serving
// so that callers can learn the actual address (for ":0") and build their
// handler and print it before requests arrive.
type Server struct {
	cfg Config
	ln  net.Listener
	tls *tls.Config
}

// Listen validates cfg, loads the TLS key pair if configured and binds the
// address. Call [Server.Serve] to serve, or [Server.Close] to give up.
func Listen(cfg Config) (*Server, error) {
	cfg = cfg.withDefaults()
	s := &Server{cfg: cfg}
	switch {
	case cfg.TLSCert != "" && cfg.TLSKey != "":
		// Load before binding so that a bad key pair fails startup rather than
		// every handshake.
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("loading TLS key pair: %w", err)
		}
		s.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	case cfg.TLSCert != "" || cfg.TLSKey != "":
		return nil, errors.New("TLS needs both a certificate and a key")
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, err
	}
	s.ln = limitListener(ln, cfg.MaxConnections)
	return s, nil
}

// Addr is the bound address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// TLS reports whether the server speaks TLS.
func (s *Server) TLS() bool { return s.tls != nil }

// URL is the base URL of the server, "http://host:port" or "https://host:port".
// An unspecified bind address (":8080", "0.0.0.0:8080") is reported as is; it
// is informational only.
func (s *Server) URL() string {
	scheme := "http"
	if s.TLS() {
		scheme = "https"
	}
	return scheme + "://" + s.Addr().String()
}

// Close releases the listener of a server that was never served.
func (s *Server) Close() error { return s.ln.Close() }

// Serve serves h until ctx is cancelled, then shuts down gracefully: it stops
// accepting connections and waits up to Config.ShutdownTimeout for in-flight
// requests before closing the rest. It returns nil after a shutdown caused by
// ctx, and the error otherwise.
func (s *Server) Serve(ctx context.Context, h http.Handler) error {
	cfg := s.cfg
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	if s.TLS() {
		protocols.SetHTTP2(true)
	} else {
		// h2c with prior knowledge: gRPC clients need HTTP/2 even without TLS.
		protocols.SetUnencryptedHTTP2(true)
	}
	srv := &http.Server{
		Handler:           wrap(h, cfg),
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		Protocols:         &protocols,
		TLSConfig:         s.tls,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
		// No ReadTimeout/WriteTimeout: pushes and pulls of large modules and
		// streaming RPCs may legitimately take long; body size and rate are
		// bounded per request instead.
	}

	errc := make(chan error, 1)
	go func() {
		if s.TLS() {
			// Certificates are already in TLSConfig; ServeTLS adds the ALPN protocols.
			errc <- srv.ServeTLS(s.ln, "", "")
		} else {
			errc <- srv.Serve(s.ln)
		}
	}()

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	cfg.Logger.Info("shutting down", "grace", cfg.ShutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	if err != nil {
		err = fmt.Errorf("graceful shutdown: %w", err)
		srv.Close()
	}
	// Serve returns ErrServerClosed as soon as Shutdown starts; wait for it anyway
	// so that no goroutine outlives this call.
	if serveErr := <-errc; !errors.Is(serveErr, http.ErrServerClosed) && err == nil {
		err = serveErr
	}
	return err
}

// Serve is the one-call form: it binds cfg.Listen, calls ready (if not nil)
// with the bound address, and serves h until ctx is cancelled.
func Serve(ctx context.Context, cfg Config, h http.Handler, ready func(addr net.Addr)) error {
	s, err := Listen(cfg)
	if err != nil {
		return err
	}
	if ready != nil {
		ready(s.Addr())
	}
	return s.Serve(ctx, h)
}

// wrap mounts the health check in front of h and bounds request bodies.
func wrap(h http.Handler, cfg Config) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == HealthPath {
			health(w, r)
			return
		}
		// Bodies over the cap fail when read with *http.MaxBytesError, which
		// Connect turns into a resource_exhausted error, and the connection is
		// closed after the response.
		if r.Body != nil && r.Body != http.NoBody {
			b := &rateBody{
				body: r.Body, rc: http.NewResponseController(w),
				start: time.Now(), grace: cfg.BodyTimeout, rate: cfg.MinBodyRate,
			}
			if r.ProtoMajor == 1 {
				b.header = w.Header()
			}
			r.Body = b
		}
		r.Body = http.MaxBytesReader(w, r.Body, cfg.MaxRequestBytes)
		h.ServeHTTP(w, r)
	})
}

func health(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	const body = "ok\n"
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		io.WriteString(w, body)
	}
}
