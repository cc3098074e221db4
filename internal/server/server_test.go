package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// protoHandler answers with the protocol the request arrived over.
var protoHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	io.WriteString(w, r.Proto)
})

// start serves h with cfg on 127.0.0.1:0 and returns the server's URL. The
// server is shut down, and Serve's error checked, when the test ends.
func start(t *testing.T, cfg Config, h http.Handler) string {
	t.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	}
	s, err := Listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, h) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return s.URL()
}

func get(t *testing.T, client *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

func client(protocols func(*http.Protocols), tlsConfig *tls.Config) *http.Client {
	var p http.Protocols
	protocols(&p)
	tr := &http.Transport{Protocols: &p, TLSClientConfig: tlsConfig}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

func TestPlainHTTP1AndH2C(t *testing.T) {
	url := start(t, Config{}, protoHandler)
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("URL = %q", url)
	}
	for _, tc := range []struct {
		name      string
		protocols func(*http.Protocols)
		want      string
	}{
		{"http1", func(p *http.Protocols) { p.SetHTTP1(true) }, "HTTP/1.1"},
		// Prior-knowledge h2c, as gRPC clients speak it.
		{"h2c", func(p *http.Protocols) { p.SetUnencryptedHTTP2(true) }, "HTTP/2.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := get(t, client(tc.protocols, nil), url+"/x")
			if code != http.StatusOK || body != tc.want {
				t.Fatalf("got %d %q, want 200 %q", code, body, tc.want)
			}
		})
	}
}

func TestTLS(t *testing.T) {
	certFile, keyFile, pool := selfSignedCert(t)
	url := start(t, Config{TLSCert: certFile, TLSKey: keyFile}, protoHandler)
	if !strings.HasPrefix(url, "https://127.0.0.1:") {
		t.Fatalf("URL = %q", url)
	}
	tlsConfig := &tls.Config{RootCAs: pool}
	for _, tc := range []struct {
		name      string
		protocols func(*http.Protocols)
		want      string
	}{
		{"http1", func(p *http.Protocols) { p.SetHTTP1(true) }, "HTTP/1.1"},
		{"h2", func(p *http.Protocols) { p.SetHTTP2(true) }, "HTTP/2.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := get(t, client(tc.protocols, tlsConfig), url+"/x")
			if code != http.StatusOK || body != tc.want {
				t.Fatalf("got %d %q, want 200 %q", code, body, tc.want)
			}
		})
	}
	t.Run("plain client rejected", func(t *testing.T) {
		resp, err := http.Get("http" + strings.TrimPrefix(url, "https") + "/x")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Fatal("plain HTTP request to TLS server succeeded")
			}
		}
	})
}

func TestTLSConfigErrors(t *testing.T) {
	certFile, keyFile, _ := selfSignedCert(t)
	for _, cfg := range []Config{
		{Listen: "127.0.0.1:0", TLSCert: certFile},
		{Listen: "127.0.0.1:0", TLSKey: keyFile},
		{Listen: "127.0.0.1:0", TLSCert: keyFile, TLSKey: certFile},
		{Listen: "127.0.0.1:0", TLSCert: filepath.Join(t.TempDir(), "missing"), TLSKey: keyFile},
	} {
		if s, err := Listen(cfg); err == nil {
			s.Close()
			t.Errorf("Listen(%+v) succeeded", cfg)
		}
	}
}

func TestHealthz(t *testing.T) {
	url := start(t, Config{}, http.NotFoundHandler())
	code, body := get(t, http.DefaultClient, url+HealthPath)
	if code != http.StatusOK || body != "ok\n" {
		t.Fatalf("GET %s: %d %q", HealthPath, code, body)
	}
	resp, err := http.Post(url+HealthPath, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST %s: %d", HealthPath, resp.StatusCode)
	}
	// Everything else goes to the wrapped handler.
	if code, _ := get(t, http.DefaultClient, url+"/other"); code != http.StatusNotFound {
		t.Fatalf("GET /other: %d", code)
	}
}

func TestMaxRequestBytes(t *testing.T) {
	const limit = 1000
	url := start(t, Config{MaxRequestBytes: limit}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		if maxErr := new(http.MaxBytesError); errors.As(err, &maxErr) {
			http.Error(w, "too large", http.StatusRequestEntityTooLarge)
			return
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		io.WriteString(w, big.NewInt(n).String())
	}))
	for _, tc := range []struct {
		size int
		want int
	}{
		{limit, http.StatusOK},
		{limit + 1, http.StatusRequestEntityTooLarge},
		{10 * limit, http.StatusRequestEntityTooLarge},
	} {
		resp, err := http.Post(url+"/upload", "application/octet-stream", strings.NewReader(strings.Repeat("x", tc.size)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%d-byte body: status %d, want %d", tc.size, resp.StatusCode, tc.want)
		}
	}
}

func TestSlowlorisDisconnected(t *testing.T) {
	const timeout = 200 * time.Millisecond
	url := start(t, Config{ReadHeaderTimeout: timeout}, protoHandler)
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	began := time.Now()
	// A request line and one header, but never the blank line that ends the headers.
	if _, err := io.WriteString(conn, "GET /x HTTP/1.1\r\nHost: example\r\n"); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	// The server may answer 408 before closing; what matters is that it closes.
	_, err = io.ReadAll(conn)
	if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("server kept the connection open for %v", time.Since(began))
	}
	if elapsed := time.Since(began); elapsed < timeout/2 {
		t.Fatalf("connection closed after %v, before the %v timeout", elapsed, timeout)
	}
}

func TestGracefulShutdownCompletesInFlightRequest(t *testing.T) {
	started := make(chan struct{})
	release := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		io.WriteString(w, "finished")
	})
	s, err := Listen(Config{Listen: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, h) }()

	type result struct {
		code int
		body string
		err  error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := http.Get(s.URL() + "/slow")
		if err != nil {
			res <- result{err: err}
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		res <- result{resp.StatusCode, string(body), err}
	}()
	<-started
	cancel()

	// Shutdown closes the listener first: new connections are refused while
	// the in-flight request is still running.
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.Addr().String(), time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("listener still accepting after shutdown began")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-served:
		t.Fatalf("Serve returned %v before the in-flight request finished", err)
	default:
	}

	close(release)
	r := <-res
	if r.err != nil || r.code != http.StatusOK || r.body != "finished" {
		t.Fatalf("in-flight request: %d %q %v", r.code, r.body, r.err)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}

func TestShutdownTimeout(t *testing.T) {
	started := make(chan struct{})
	stuck := make(chan struct{})
	defer close(stuck)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-stuck
	})
	s, err := Listen(Config{Listen: "127.0.0.1:0", ShutdownTimeout: 100 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, h) }()
	go func() {
		if resp, err := http.Get(s.URL() + "/stuck"); err == nil {
			resp.Body.Close()
		}
	}()
	<-started
	cancel()
	select {
	case err := <-served:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Serve = %v, want a deadline error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after the shutdown timeout")
	}
}

func TestServeReady(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, Config{Listen: "127.0.0.1:0"}, protoHandler, func(a net.Addr) { addrc <- a })
	}()
	var addr net.Addr
	select {
	case addr = <-addrc:
	case err := <-done:
		t.Fatal(err)
	}
	if code, _ := get(t, http.DefaultClient, "http://"+addr.String()+HealthPath); code != http.StatusOK {
		t.Fatalf("healthz: %d", code)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// selfSignedCert writes a self-signed certificate for 127.0.0.1 and its key
// to PEM files and returns their paths and a pool trusting the certificate.
func selfSignedCert(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "lathe test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile = filepath.Join(dir, "cert.pem")
	keyFile = filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}
