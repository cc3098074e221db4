package sdk

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/lathe-registry/lathe/internal/auth"
)

// Anonymous requests may make the server generate the versions they ask for, which
// costs plugin runs and permanent storage; they may do so only at a rate per client
// address (see [WithAnonymousGenerations]). Requests with a token, queued jobs and
// published versions are not limited.

// DefaultAnonymousGenerations is how many generations per minute one address may ask
// for without a token.
const DefaultAnonymousGenerations = 60

// maxClients bounds the addresses whose rate is tracked; beyond it, addresses whose
// budget is whole again are forgotten.
const maxClients = 100000

// RateLimitError is a request that would generate but whose anonymous caller asked for
// too many generations lately: answered 429 with a Retry-After.
type RateLimitError struct {
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("too many new versions asked for without a token from this address: retry in %d s, or send a token (lathe token create)", e.Seconds())
}

// Seconds is RetryAfter in whole seconds, at least 1.
func (e *RateLimitError) Seconds() int {
	return max(1, int((e.RetryAfter+time.Second-1)/time.Second))
}

// errNoAnonymousGeneration answers anonymous requests that would generate on a server
// that allows them none.
var errNoAnonymousGeneration = fmt.Errorf("%w: this server generates new versions only for requests with a token", ErrTokenRequired)

// WithAnonymousGenerations lets each client address make anonymous requests generate
// perMinute versions a minute, in bursts of as many; 0 lets them generate none. The
// default is no limit.
func WithAnonymousGenerations(perMinute int) Option {
	return func(s *Service) { s.anonymous = &limiter{perMinute: perMinute} }
}

type clientKey struct{}

// WithClient records the address of a request's client, by which the generations it
// asks for anonymously are limited. IPv6 clients are counted by /64, which one host is
// commonly given whole.
func WithClient(ctx context.Context, r *http.Request) context.Context {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return context.WithValue(ctx, clientKey{}, host)
	}
	addr = addr.Unmap()
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return context.WithValue(ctx, clientKey{}, p.String())
	}
	return context.WithValue(ctx, clientKey{}, addr.String())
}

// mayGenerate fails with a [*RateLimitError] if the request of ctx is anonymous and its
// address asked for too many generations.
func (s *Service) mayGenerate(ctx context.Context) error {
	client, ok := ctx.Value(clientKey{}).(string)
	if _, user := auth.User(ctx); !ok || user || auth.IsSystem(ctx) || s.anonymous == nil {
		return nil
	}
	return s.anonymous.take(client, time.Now())
}

// limiter is a token bucket per client: perMinute tokens, refilled at perMinute a
// minute.
type limiter struct {
	perMinute int
	mu        sync.Mutex
	buckets   map[string]bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

func (l *limiter) take(client string, now time.Time) error {
	if l.perMinute <= 0 {
		return errNoAnonymousGeneration
	}
	burst, perSecond := float64(l.perMinute), float64(l.perMinute)/60
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[client]
	if !ok {
		if l.buckets == nil || len(l.buckets) >= maxClients {
			l.forgetFull(now, burst, perSecond)
		}
		b = bucket{tokens: burst, at: now}
	}
	b.tokens = min(burst, b.tokens+now.Sub(b.at).Seconds()*perSecond)
	b.at = now
	if b.tokens < 1 {
		l.buckets[client] = b
		return &RateLimitError{RetryAfter: time.Duration((1 - b.tokens) / perSecond * float64(time.Second))}
	}
	b.tokens--
	l.buckets[client] = b
	return nil
}

// forgetFull drops the buckets that are whole again, or all of them if none is.
func (l *limiter) forgetFull(now time.Time, burst, perSecond float64) {
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.at).Seconds()*perSecond >= burst {
			delete(l.buckets, k)
		}
	}
	if l.buckets == nil || len(l.buckets) >= maxClients {
		l.buckets = map[string]bucket{}
	}
}
