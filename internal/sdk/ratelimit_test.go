package sdk

import (
	"context"
	"errors"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/lathe-registry/lathe/internal/auth"
	"github.com/lathe-registry/lathe/internal/blob/memblob"
	"github.com/lathe-registry/lathe/internal/store"
)

// Anonymous requests from one address generate at most the limit's burst, then one
// version per refill; other addresses, requests with a token and versions already
// published are not limited.
func TestAnonymousGenerationLimit(t *testing.T) {
	reg, alice, m := pagesModule(t, store.Public)
	s := New(reg, memblob.New(), nil, WithAnonymousGenerations(2))
	pack := func(context.Context) ([]byte, []byte, error) { return []byte("archive"), nil, nil }
	from := func(addr string) context.Context {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = addr
		return WithClient(context.Background(), r)
	}
	anon, v6 := from("192.0.2.1:1234"), from("[2001:db8::1]:1234")
	n := 0
	artifact := func(ctx context.Context) error {
		n++
		_, err := s.Artifact(ctx, "cargo", "p", strconv.Itoa(n), m.ID, pack)
		return err
	}
	for range 2 {
		if err := artifact(anon); err != nil {
			t.Fatal(err)
		}
	}
	err := artifact(anon)
	var rl *RateLimitError
	if !errors.As(err, &rl) || rl.Seconds() != 30 {
		t.Fatalf("third anonymous generation: %v, want a rate limit error retrying in 30 s", err)
	}
	// Published versions are served, however many.
	if _, err := s.Artifact(anon, "cargo", "p", "1", m.ID, pack); err != nil {
		t.Errorf("a published version: %v", err)
	}
	if err := artifact(from("192.0.2.2:1")); err != nil {
		t.Errorf("another address: %v", err)
	}
	if err := artifact(auth.WithUser(anon, alice)); err != nil {
		t.Errorf("with a token: %v", err)
	}
	// Another host of the same IPv6 /64 shares its budget.
	for range 2 {
		if err := artifact(v6); err != nil {
			t.Fatal(err)
		}
	}
	if err := artifact(from("[2001:db8::2]:1")); !errors.As(err, &rl) {
		t.Errorf("the same /64: %v, want a rate limit error", err)
	}

	// The bucket refills at the rate; none allows no anonymous generation.
	l := &limiter{perMinute: 60}
	now := time.Now()
	for range 60 {
		if err := l.take("a", now); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.take("a", now); !errors.As(err, &rl) || rl.Seconds() != 1 {
		t.Errorf("61st: %v", err)
	}
	if err := l.take("a", now.Add(time.Second)); err != nil {
		t.Errorf("a second later: %v", err)
	}
	if err := (&limiter{}).take("a", now); !errors.Is(err, ErrTokenRequired) {
		t.Errorf("a limit of 0: %v", err)
	}
}
