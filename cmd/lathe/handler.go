package main

import (
	"log/slog"
	"net/http"

	"github.com/lathe-registry/lathe/internal/api"
	"github.com/lathe-registry/lathe/internal/blob"
	"github.com/lathe-registry/lathe/internal/module"
	"github.com/lathe-registry/lathe/internal/registry"
	"github.com/lathe-registry/lathe/internal/store"
)

// handlerConfig is what serve hands to the API handler.
type handlerConfig struct {
	Logger *slog.Logger
	Store  store.Store
	Blobs  blob.Store
	// BaseURL is the server's own URL with the port actually bound,
	// e.g. "http://127.0.0.1:8080" or "https://[::]:8443".
	BaseURL string
	// MaxRequestBytes is the server-wide body cap; the Connect handlers use it as their
	// read limit too, which also bounds the size of decompressed messages.
	MaxRequestBytes int64
	Limits          module.Limits
	ParseCacheBytes int
}

// newHandler builds the handler for every path except /healthz, which
// internal/server serves in front of it.
func newHandler(cfg handlerConfig) (http.Handler, error) {
	reg := registry.New(cfg.Store, cfg.Blobs,
		registry.WithLogger(cfg.Logger),
		registry.WithLimits(cfg.Limits),
		registry.WithParseCacheBytes(cfg.ParseCacheBytes))
	return api.Handler(reg, api.Config{MaxMessageBytes: cfg.MaxRequestBytes, Logger: cfg.Logger}), nil
}
