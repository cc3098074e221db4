// Package limit caps how many expensive requests run at once, per caller and in
// total: a caller over its share, or any caller while the server is at its total, is
// turned away at once with an error matching [ErrBusy], which the API answers as
// resource_exhausted and the package registries as 429 with Retry-After. Turned away,
// not queued: a waiting request would hold its connection and memory all the same.
package limit

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// ErrBusy matches the errors of [Limiter.Acquire].
var ErrBusy = errors.New("too many requests at once")

// RetryAfter is how long a caller turned away is asked to wait before trying again.
const RetryAfter = 5 * time.Second

// Limiter counts the requests running per caller and in total. It is safe for
// simultaneous use by multiple goroutines. A nil *Limiter limits nothing.
type Limiter struct {
	what             string // what is limited, for messages: "uploads and generations"
	perCaller, total int

	mu      sync.Mutex
	running map[string]int
	n       int
}

// New returns a Limiter allowing perCaller requests of one caller and total requests in
// all at once; what names them in its errors.
func New(what string, perCaller, total int) *Limiter {
	return &Limiter{what: what, perCaller: perCaller, total: total, running: map[string]int{}}
}

// Acquire counts a request of caller (see [Caller]) and returns the function that ends
// it, or an error matching [ErrBusy] if the caller or the server is at its limit.
func (l *Limiter) Acquire(caller string) (release func(), err error) {
	if l == nil {
		return func() {}, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.running[caller] >= l.perCaller:
		return nil, fmt.Errorf("%w: you already have %d %s running, the most one caller may have; try again when one has finished",
			ErrBusy, l.perCaller, l.what)
	case l.n >= l.total:
		return nil, fmt.Errorf("%w: the server is running its most %s at once (%d); try again in a few seconds",
			ErrBusy, l.what, l.total)
	}
	l.running[caller]++
	l.n++
	return sync.OnceFunc(func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.running[caller]--; l.running[caller] == 0 {
			delete(l.running, caller)
		}
		l.n--
	}), nil
}

// Caller is the key under which [Limiter] counts a request: the user's id for an
// authenticated one (userID not empty), else the remote IP address (of remoteAddr,
// "host:port" or a bare host), so that anonymous callers are told apart by where they
// come from.
func Caller(userID, remoteAddr string) string {
	if userID != "" {
		return "user " + userID
	}
	if host, _, err := net.SplitHostPort(remoteAddr); err == nil {
		remoteAddr = host
	}
	return "address " + remoteAddr
}
