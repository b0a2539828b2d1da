package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"time"
)

// orderClient is the load generator's client for one desk: one keep-alive
// HTTP/1.1 connection that sends POST /orders from a prebuilt header block
// and reads the status and the body. net/http's client spends more CPU per
// request than the service's own handler does on some paths; on a shared
// two-core machine that CPU comes out of the service's share, while
// pgbench's client is lean C. This one costs a write and a read system
// call per order and few allocations.
type orderClient struct {
	addr   string
	prefix []byte // request line and fixed headers, up to "Idempotency-Key: "
	conn   net.Conn
	r      *bufio.Reader
	buf    []byte
}

// newOrderClient prepares a client for base (an http:// URL) with a bearer
// token and a session.
func newOrderClient(base, token, session string) (*orderClient, error) {
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "http" {
		return nil, fmt.Errorf("order client needs an http:// URL, got %q", base)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "POST /orders HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nAuthorization: Bearer %s\r\n"+
		"X-Session-ID: %s\r\nContent-Length: %d\r\nIdempotency-Key: ", u.Host, token, session, len(orderBody))
	return &orderClient{addr: u.Host, prefix: b.Bytes()}, nil
}

// orderBody is the order every request places.
const orderBody = `{"symbol":"AAPL","side":"buy","quantity":100,"limit_price":"187.25"}`

// post places one order with key and returns the response status.
func (c *orderClient) post(key string) (int, error) {
	if c.conn == nil {
		conn, err := net.DialTimeout("tcp", c.addr, 5*time.Second)
		if err != nil {
			return 0, fmt.Errorf("dial service: %w", err)
		}
		c.conn, c.r = conn, bufio.NewReaderSize(conn, 4096)
	}
	c.buf = append(append(append(append(c.buf[:0], c.prefix...), key...), "\r\n\r\n"...), orderBody...)
	_ = c.conn.SetDeadline(time.Now().Add(10 * time.Second))
	status, err := c.exchange()
	if err != nil {
		_ = c.conn.Close()
		c.conn = nil
	}
	return status, err
}

func (c *orderClient) exchange() (int, error) {
	if _, err := c.conn.Write(c.buf); err != nil {
		return 0, fmt.Errorf("send order: %w", err)
	}
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return 0, fmt.Errorf("read status line: %w", err)
	}
	// "HTTP/1.1 201 Created\r\n"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, fmt.Errorf("bad status line %q", line)
	}
	length, closing := -1, false
	for {
		h, err := c.r.ReadSlice('\n')
		if err != nil {
			return 0, fmt.Errorf("read header: %w", err)
		}
		h = bytes.TrimRight(h, "\r\n")
		if len(h) == 0 {
			break
		}
		name, value, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			return 0, fmt.Errorf("bad header %q", h)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil {
				return 0, fmt.Errorf("bad Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			return 0, errors.New("chunked response: not supported by the bench client")
		case bytes.EqualFold(name, []byte("Connection")) && bytes.EqualFold(value, []byte("close")):
			closing = true
		}
	}
	if length < 0 {
		return 0, errors.New("response without Content-Length")
	}
	if _, err := c.r.Discard(length); err != nil {
		return 0, fmt.Errorf("read body: %w", err)
	}
	if closing {
		return status, io.EOF // reconnect for the next order
	}
	return status, nil
}

// close closes the connection.
func (c *orderClient) close() {
	if c.conn != nil {
		_ = c.conn.Close()
		c.conn = nil
	}
}
