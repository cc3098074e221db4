package server

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// bodyResult is what a handler saw of a request body.
type bodyResult struct {
	n   int64
	err error
	ctx error // the request context's error after the handler's work
}

// bodyHandler reads the body, works for work, and reports what it saw on results.
func bodyHandler(results chan<- bodyResult, work time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			results <- bodyResult{n: n, err: err}
			r.Body.Close() // as Connect's handlers do
			http.Error(w, err.Error(), http.StatusRequestTimeout)
			return
		}
		time.Sleep(work)
		results <- bodyResult{n: n, ctx: r.Context().Err()}
		fmt.Fprint(w, n)
	})
}

// trickle writes the headers of a POST of size bytes to conn, then the body in chunks
// of chunk bytes every interval, stopping at the first failed write.
func trickle(conn net.Conn, size, chunk int, interval time.Duration) {
	fmt.Fprintf(conn, "POST /upload HTTP/1.1\r\nHost: example\r\nContent-Length: %d\r\n\r\n", size)
	for sent := 0; sent < size; sent += chunk {
		time.Sleep(interval)
		if _, err := conn.Write([]byte(strings.Repeat("x", min(chunk, size-sent)))); err != nil {
			return
		}
	}
}

func TestSlowBodyTimedOut(t *testing.T) {
	results := make(chan bodyResult, 1)
	url := start(t, Config{BodyTimeout: 300 * time.Millisecond, MinBodyRate: 100}, bodyHandler(results, 0))
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	began := time.Now()
	// 20 bytes a second, a fifth of the minimum rate: the deadline, 300ms plus 10ms a
	// byte, passes after 375ms.
	go trickle(conn, 1000, 1, 50*time.Millisecond)
	select {
	case r := <-results:
		if !errors.Is(r.err, os.ErrDeadlineExceeded) {
			t.Fatalf("handler read %d bytes and got %v, want a deadline error", r.n, r.err)
		}
		if elapsed := time.Since(began); elapsed < 300*time.Millisecond {
			t.Fatalf("body timed out after %v, before its grace", elapsed)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a body sent at 20 bytes a second was read for 10s")
	}
	// The server answers, and lets go of the connection at once: the rest of the body
	// is not read as another request.
	conn.SetReadDeadline(time.Now().Add(time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer to the slow body: %v", err)
	}
	rest, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("server kept the connection of the slow body open (%d %q)", resp.StatusCode, rest)
	}
	if resp.StatusCode != http.StatusRequestTimeout || !resp.Close {
		t.Fatalf("answer %d, close %v; want 408 and the connection closed", resp.StatusCode, resp.Close)
	}
}

func TestSlowBodyTimedOutHTTP2(t *testing.T) {
	results := make(chan bodyResult, 1)
	url := start(t, Config{BodyTimeout: 300 * time.Millisecond, MinBodyRate: 100}, bodyHandler(results, 0))
	pr, pw := io.Pipe()
	defer pw.Close()
	go func() {
		for range 1000 {
			time.Sleep(50 * time.Millisecond)
			if _, err := pw.Write([]byte("x")); err != nil {
				return
			}
		}
	}()
	c := client(func(p *http.Protocols) { p.SetUnencryptedHTTP2(true) }, nil)
	go func() {
		if resp, err := c.Post(url+"/upload", "application/octet-stream", pr); err == nil {
			resp.Body.Close()
		}
	}()
	select {
	case r := <-results:
		if r.err == nil {
			t.Fatalf("handler read the whole body (%d bytes)", r.n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("an HTTP/2 body sent at 20 bytes a second was read for 10s")
	}
}

// TestLongBodyAtRate checks that a body sent above the minimum rate may take longer
// than the grace, and that the deadline is lifted once it has arrived: the handler may
// then work longer than the grace without losing its request.
func TestLongBodyAtRate(t *testing.T) {
	results := make(chan bodyResult, 1)
	const grace = 300 * time.Millisecond
	url := start(t, Config{BodyTimeout: grace, MinBodyRate: 100}, bodyHandler(results, 2*grace))
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// 2,000 bytes a second for 0.6s: twice the grace, at 20 times the minimum rate.
	trickle(conn, 1200, 100, 50*time.Millisecond)
	r := <-results
	if r.err != nil || r.n != 1200 || r.ctx != nil {
		t.Fatalf("handler read %d bytes, error %v, context %v; want 1200, nil, nil", r.n, r.err, r.ctx)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

func TestMaxConnections(t *testing.T) {
	url := start(t, Config{MaxConnections: 2}, protoHandler)
	addr := strings.TrimPrefix(url, "http://")
	dial := func() net.Conn {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	request := func(c net.Conn, wait time.Duration) (*http.Response, error) {
		if _, err := io.WriteString(c, "GET /x HTTP/1.1\r\nHost: example\r\n\r\n"); err != nil {
			return nil, err
		}
		c.SetReadDeadline(time.Now().Add(wait))
		return http.ReadResponse(bufio.NewReader(c), nil)
	}
	held := []net.Conn{dial(), dial()}
	// Both are served, and stay open (keep-alive).
	for _, c := range held {
		if resp, err := request(c, 10*time.Second); err != nil {
			t.Fatal(err)
		} else {
			resp.Body.Close()
		}
	}
	third := dial() // the kernel completes the handshake; the server does not accept it
	if resp, err := request(third, 300*time.Millisecond); err == nil {
		resp.Body.Close()
		t.Fatalf("a third connection was served (%d) while two were open", resp.StatusCode)
	} else if ne := net.Error(nil); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("third connection: %v, want no answer", err)
	}
	held[0].Close()
	third.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(third), nil)
	if err != nil {
		t.Fatalf("after a connection closed, the waiting one: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

// A request whose headers are too large gets its 431 answer, not a reset: the capped
// connection half-closes as net/http expects after an error answer.
func TestHugeHeaderAnswered(t *testing.T) {
	url := start(t, Config{MaxConnections: 4}, protoHandler)
	for range 5 {
		req, err := http.NewRequest(http.MethodPost, url+"/x", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Big", strings.Repeat("a", 2<<20))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("the answer: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("status %d, want 431", resp.StatusCode)
		}
	}
}
