package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lathe-registry/lathe/internal/auth"
	"github.com/lathe-registry/lathe/internal/limit"
	"github.com/lathe-registry/lathe/internal/sdk"
	"github.com/lathe-registry/lathe/internal/store"
)

// oneUser is an [auth.Users] knowing one token, of the user with ID "u1".
type oneUser string

func (tok oneUser) UserByTokenHash(_ context.Context, hash []byte) (store.Owner, error) {
	if bytes.Equal(hash, auth.HashToken(string(tok))) {
		return store.Owner{ID: "u1", Name: "alice"}, nil
	}
	return store.Owner{}, store.ErrNotFound
}

func TestLimitSDKRequests(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			entered <- struct{}{}
			<-release
		}
		io.WriteString(w, "ok")
	})
	l := limit.New("package registry requests", 1, 2)
	h := limitSDKRequests(slow, l, oneUser("secret"), &sdk.Edge{Ecosystem: "test", Log: slog.New(slog.DiscardHandler)})
	srv := httptest.NewServer(h)
	defer srv.Close()

	get := func(path, token string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	done := make(chan *http.Response, 2)
	go func() { done <- get("/slow", "") }() // anonymous, from 127.0.0.1
	<-entered

	resp := get("/fast", "")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" ||
		!strings.Contains(string(body), "you already have 1 package registry requests running") {
		t.Fatalf("second anonymous request from the address: %d %q, Retry-After %q", resp.StatusCode, body, resp.Header.Get("Retry-After"))
	}
	// Alice, though at the same address, is another caller.
	go func() { done <- get("/slow", "secret") }()
	<-entered
	// An invalid token counts as its address, and the server is at its total anyway.
	resp = get("/fast", "wrong")
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("request at the total: %d", resp.StatusCode)
	}
	close(release)
	for range 2 {
		if r := <-done; r.StatusCode != http.StatusOK {
			t.Fatalf("held request: %d", r.StatusCode)
		} else {
			r.Body.Close()
		}
	}
	resp = get("/fast", "")
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("after the others ended: %d", resp.StatusCode)
	}
}
