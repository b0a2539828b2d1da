package testkit

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
)

// BusEvent is one entry received by the fake EventBridge.
type BusEvent struct {
	EventBusName string `json:"EventBusName"`
	Source       string `json:"Source"`
	DetailType   string `json:"DetailType"`
	Detail       string `json:"Detail"`
}

// FakeBus records PutEvents calls (AWS JSON 1.1 protocol) like EventBridge.
type FakeBus struct {
	// URL is the endpoint to use as EVENTBRIDGE_ENDPOINT.
	URL string
	srv *httptest.Server

	mu     sync.Mutex
	events []BusEvent
	// failCalls makes the next N PutEvents calls answer HTTP 500.
	failCalls atomic.Int64
	// failEntries makes the next N entries fail individually.
	failEntries atomic.Int64
	calls       atomic.Int64
	// poison rejects matching entries every time (a malformed event).
	poison atomic.Pointer[func(detail string) bool]
}

// Poison makes every entry whose Detail matches fail individually, every
// time, with a non-retryable error code (nil clears it).
func (b *FakeBus) Poison(match func(detail string) bool) {
	if match == nil {
		b.poison.Store(nil)
		return
	}
	b.poison.Store(&match)
}

// StartFakeBus starts the recording server on loopback.
func StartFakeBus() *FakeBus {
	b := &FakeBus{}
	b.srv = httptest.NewServer(http.HandlerFunc(b.serve))
	b.URL = b.srv.URL
	return b
}

// FailNextCalls makes the next n PutEvents calls fail with HTTP 500.
func (b *FakeBus) FailNextCalls(n int) { b.failCalls.Store(int64(n)) }

// FailNextEntries makes the next n entries fail individually (FailedEntryCount).
func (b *FakeBus) FailNextEntries(n int) { b.failEntries.Store(int64(n)) }

// Events returns a copy of every accepted entry.
func (b *FakeBus) Events() []BusEvent {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]BusEvent(nil), b.events...)
}

// Calls is the number of PutEvents requests received.
func (b *FakeBus) Calls() int64 { return b.calls.Load() }

// Close stops the server.
func (b *FakeBus) Close() { b.srv.Close() }

func (b *FakeBus) serve(w http.ResponseWriter, r *http.Request) {
	b.calls.Add(1)
	if r.Header.Get("X-Amz-Target") != "AWSEvents.PutEvents" {
		http.Error(w, `{"__type":"UnknownOperationException"}`, http.StatusBadRequest)
		return
	}
	if b.failCalls.Load() > 0 && b.failCalls.Add(-1) >= 0 {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, `{"__type":"InternalException","message":"injected failure"}`)
		return
	}
	var in struct{ Entries []BusEvent }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		http.Error(w, `{"__type":"ValidationException"}`, http.StatusBadRequest)
		return
	}
	type entry struct {
		EventID      string `json:"EventId,omitempty"`
		ErrorCode    string `json:"ErrorCode,omitempty"`
		ErrorMessage string `json:"ErrorMessage,omitempty"`
	}
	out := struct {
		Entries          []entry
		FailedEntryCount int
	}{}
	b.mu.Lock()
	poison := b.poison.Load()
	for _, e := range in.Entries {
		if poison != nil && (*poison)(e.Detail) {
			out.Entries = append(out.Entries, entry{ErrorCode: "MalformedDetail", ErrorMessage: "injected poison entry"})
			out.FailedEntryCount++
			continue
		}
		if b.failEntries.Load() > 0 && b.failEntries.Add(-1) >= 0 {
			out.Entries = append(out.Entries, entry{ErrorCode: "InternalFailure", ErrorMessage: "injected entry failure"})
			out.FailedEntryCount++
			continue
		}
		b.events = append(b.events, e)
		out.Entries = append(out.Entries, entry{EventID: fmt.Sprintf("evt-%d", len(b.events))})
	}
	b.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(out)
}
