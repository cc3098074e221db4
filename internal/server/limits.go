package server

import (
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// rateBody is a request body that must arrive at a minimum rate (see
// [Config.BodyTimeout]). It enforces the rate with the connection's (or, over
// HTTP/2, the stream's) read deadline, moved on as bytes arrive, so that a
// stalled read fails at the deadline instead of blocking.
type rateBody struct {
	body  io.ReadCloser
	rc    *http.ResponseController
	start time.Time
	grace time.Duration
	rate  int64
	// header is the response's header over HTTP/1, where a body that failed must end
	// the connection: the rest of it must not be read as the next request. (HTTP/2
	// resets the stream itself.)
	header http.Header

	n    int64     // bytes read so far
	set  time.Time // the deadline last set
	done bool      // the body ended, and the deadline was lifted
}

func (b *rateBody) Read(p []byte) (int, error) {
	if !b.done {
		due := b.start.Add(b.grace + time.Duration(float64(b.n)/float64(b.rate)*float64(time.Second)))
		// Moving the deadline costs a system call: only when it has moved far.
		if due.Sub(b.set) >= time.Second/4 {
			// Where deadlines are not supported (ErrNotSupported) the body is unbounded
			// in time, as it was before; there is nothing better to do.
			_ = b.rc.SetReadDeadline(due)
			b.set = due
		}
	}
	n, err := b.body.Read(p)
	b.n += int64(n)
	switch {
	case b.done || err == nil:
	case errors.Is(err, io.EOF):
		// The connection's later reads are not the body's: the server's check that
		// the client is still there while the handler runs, and the next request's
		// headers, which have timeouts of their own.
		b.done = true
		_ = b.rc.SetReadDeadline(time.Time{})
	case b.header != nil:
		// Timed out, or failed otherwise: the server must not wait for the rest.
		b.header.Set("Connection", "close")
	}
	return n, err
}

func (b *rateBody) Close() error { return b.body.Close() }

// limitListener returns a listener that has at most n accepted connections open
// at once: Accept waits while n are.
func limitListener(ln net.Listener, n int) net.Listener {
	return &limitedListener{Listener: ln, slots: make(chan struct{}, n), closed: make(chan struct{})}
}

type limitedListener struct {
	net.Listener
	slots     chan struct{}
	closed    chan struct{}
	closeOnce sync.Once
}

func (l *limitedListener) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	case <-l.closed:
		// Accept on the closed listener, for its error.
		return l.Listener.Accept()
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &limitedConn{Conn: c, release: sync.OnceFunc(func() { <-l.slots })}, nil
}

func (l *limitedListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// limitedConn frees its slot when closed, however often.
type limitedConn struct {
	net.Conn
	release func()
}

// CloseWrite half-closes the connection, which net/http does after an error answer (431,
// say) so that the client reads the answer before the connection goes; without it a
// client still sending sees a reset instead.
func (c *limitedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.release()
	return err
}
