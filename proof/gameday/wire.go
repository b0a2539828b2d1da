package gameday

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"regexp"
	"sort"
	"strconv"
	"sync/atomic"
	"time"
)

// wire is one task's link as the balancer sees it: HAProxy reaches each
// task through its own relay on loopback, and a gray AZ is played by
// delaying the bytes its tasks' relays carry toward the tasks (this
// kernel has no netem qdisc). A relay that cannot reach its task within
// wireConnect closes the balancer's connection, as HAProxy's own
// `timeout connect` would have failed it, so an AZ that is cut off still
// fails checks and requests after the same time.
type wire struct {
	ln     net.Listener
	target string
	delay  atomic.Int64 // nanoseconds added before each chunk toward the task
}

// wireConnect is HAProxy's `timeout connect` (haproxyConfig).
const wireConnect = 3 * time.Second

func newWire(target string) (*wire, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("wire to %s: %w", target, err)
	}
	w := &wire{ln: ln, target: target}
	go w.serve()
	return w, nil
}

func (w *wire) addr() string { return w.ln.Addr().String() }

func (w *wire) close() { _ = w.ln.Close() }

func (w *wire) serve() {
	for {
		c, err := w.ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			u, err := net.DialTimeout("tcp", w.target, wireConnect)
			if err != nil {
				return
			}
			defer u.Close()
			done := make(chan struct{}, 2)
			go func() {
				buf := make([]byte, 32<<10)
				for {
					n, err := c.Read(buf)
					if n > 0 {
						if d := time.Duration(w.delay.Load()); d > 0 {
							time.Sleep(d)
						}
						if _, werr := u.Write(buf[:n]); werr != nil {
							break
						}
					}
					if err != nil {
						break
					}
				}
				done <- struct{}{}
			}()
			go func() { _, _ = io.Copy(c, u); done <- struct{}{} }()
			<-done
		}()
	}
}

// azStats is what the ALB's per-AZ series would show for one AZ over a
// window: requests, target 5xx and the p99 target response time.
type azStats struct {
	Requests, Target5xx int
	P99                 time.Duration
}

// haproxyLine matches an httplog line: accept date, server and the
// TR/Tw/Tc/Tr/Ta timers, then the status (HAProxy configuration manual,
// "HTTP log format").
var haproxyLine = regexp.MustCompile(`\[(\d{2}/\w{3}/\d{4}:\d{2}:\d{2}:\d{2}\.\d{3})\] alb tasks/(\S+) -?\d+/-?\d+/-?\d+/(-?\d+)/-?\d+ (\d{3}) `)

// azStatsFromLog reads HAProxy's log and sums the requests accepted in [from, to)
// per AZ of the serving task (the task name's first letter). Tr is the
// time from the request sent to the task to its response headers, which
// is what the ALB's TargetResponseTime measures.
func azStatsFromLog(logPath string, from, to time.Time) (map[string]azStats, error) {
	f, err := os.Open(logPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	times := map[string][]time.Duration{}
	out := map[string]azStats{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := haproxyLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		at, err := time.ParseInLocation("02/Jan/2006:15:04:05.000", m[1], time.Local)
		if err != nil || at.Before(from) || !at.Before(to) {
			continue
		}
		az := m[2][:1]
		st := out[az]
		st.Requests++
		if code, _ := strconv.Atoi(m[4]); code >= 500 {
			st.Target5xx++
		}
		out[az] = st
		if tr, _ := strconv.Atoi(m[3]); tr >= 0 {
			times[az] = append(times[az], time.Duration(tr)*time.Millisecond)
		}
	}
	for az, ts := range times {
		sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
		st := out[az]
		st.P99 = ts[int(math.Ceil(0.99*float64(len(ts))))-1]
		out[az] = st
	}
	return out, sc.Err()
}
