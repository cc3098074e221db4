package limit

import (
	"errors"
	"strings"
	"sync"
	"testing"
)

func TestLimiter(t *testing.T) {
	l := New("uploads", 2, 3)
	alice, bob, carol := Caller("a1", "10.0.0.1:1"), Caller("b1", "10.0.0.1:2"), Caller("", "10.0.0.2:3")
	mustAcquire := func(caller string) func() {
		t.Helper()
		release, err := l.Acquire(caller)
		if err != nil {
			t.Fatalf("Acquire(%q): %v", caller, err)
		}
		return release
	}
	mustBusy := func(caller, want string) {
		t.Helper()
		if _, err := l.Acquire(caller); !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), want) {
			t.Fatalf("Acquire(%q) = %v, want ErrBusy saying %q", caller, err, want)
		}
	}
	a1 := mustAcquire(alice)
	mustAcquire(alice)
	mustBusy(alice, "you already have 2 uploads running")
	b1 := mustAcquire(bob)
	mustBusy(carol, "the server is running its most uploads at once (3)")
	a1()
	a1() // a second call releases nothing more
	mustAcquire(carol)
	mustBusy(alice, "the server is running")
	b1()
	mustAcquire(alice)
	mustBusy(alice, "you already have 2")
}

func TestNilLimiter(t *testing.T) {
	var l *Limiter
	release, err := l.Acquire("anyone")
	if err != nil {
		t.Fatal(err)
	}
	release()
}

func TestCaller(t *testing.T) {
	for _, c := range []struct{ user, addr, want string }{
		{"u1", "10.0.0.1:5", "user u1"},
		{"", "10.0.0.1:5", "address 10.0.0.1"},
		{"", "[::1]:5", "address ::1"},
		{"", "10.0.0.1", "address 10.0.0.1"},
	} {
		if got := Caller(c.user, c.addr); got != c.want {
			t.Errorf("Caller(%q, %q) = %q, want %q", c.user, c.addr, got, c.want)
		}
	}
}

func TestConcurrentAcquire(t *testing.T) {
	l := New("uploads", 100, 100)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				if release, err := l.Acquire("one"); err == nil {
					release()
				}
			}
		})
	}
	wg.Wait()
	if l.n != 0 || len(l.running) != 0 {
		t.Fatalf("after every release: n = %d, running = %v", l.n, l.running)
	}
}
