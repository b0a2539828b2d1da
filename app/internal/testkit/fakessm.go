package testkit

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// FakeSSM serves SSM Parameter Store's GetParametersByPath and
// GetParameter (AWS JSON 1.1 protocol) from an in-memory map, for the risk
// limits, the kill switch and the signing key set.
type FakeSSM struct {
	// URL is the endpoint to use as SSM_ENDPOINT.
	URL string
	srv *httptest.Server

	mu     sync.Mutex
	params map[string]string
	fail   atomic.Bool
	calls  atomic.Int64
}

// StartFakeSSM starts the server on loopback.
func StartFakeSSM() *FakeSSM {
	f := &FakeSSM{params: map[string]string{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	f.URL = f.srv.URL
	return f
}

// Set stores a parameter (full name, e.g. /trading/test/flags/trading-enabled).
func (f *FakeSSM) Set(name, value string) {
	f.mu.Lock()
	f.params[name] = value
	f.mu.Unlock()
}

// Get returns a parameter's value ("" when unset).
func (f *FakeSSM) Get(name string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.params[name]
}

// Delete removes a parameter.
func (f *FakeSSM) Delete(name string) {
	f.mu.Lock()
	delete(f.params, name)
	f.mu.Unlock()
}

// Fail makes every call answer HTTP 500 while on is true.
func (f *FakeSSM) Fail(on bool) { f.fail.Store(on) }

// Calls counts requests.
func (f *FakeSSM) Calls() int64 { return f.calls.Load() }

// Close stops the server.
func (f *FakeSSM) Close() { f.srv.Close() }

func (f *FakeSSM) serve(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if f.fail.Load() {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"__type":"InternalServerError","message":"injected failure"}`))
		return
	}
	if r.Header.Get("X-Amz-Target") == "AmazonSSM.GetParameter" {
		f.getParameter(w, r)
		return
	}
	if r.Header.Get("X-Amz-Target") != "AmazonSSM.GetParametersByPath" {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"__type":"UnknownOperationException"}`))
		return
	}
	var in struct {
		Path       string
		Recursive  bool
		MaxResults int
		NextToken  string
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"__type":"ValidationException"}`))
		return
	}
	prefix := strings.TrimRight(in.Path, "/") + "/"
	f.mu.Lock()
	var names []string
	for n := range f.params {
		rest, ok := strings.CutPrefix(n, prefix)
		if ok && (in.Recursive || !strings.Contains(rest, "/")) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	start, _ := strconv.Atoi(in.NextToken)
	if in.MaxResults <= 0 {
		in.MaxResults = 10
	}
	type param struct{ Name, Value, Type string }
	out := struct {
		Parameters []param
		NextToken  string `json:",omitempty"`
	}{Parameters: []param{}}
	for i := start; i < len(names) && i < start+in.MaxResults; i++ {
		out.Parameters = append(out.Parameters, param{Name: names[i], Value: f.params[names[i]], Type: "String"})
	}
	if start+in.MaxResults < len(names) {
		out.NextToken = strconv.Itoa(start + in.MaxResults)
	}
	f.mu.Unlock()
	_ = json.NewEncoder(w).Encode(out)
}

// getParameter answers GetParameter: the parameter, or ParameterNotFound.
func (f *FakeSSM) getParameter(w http.ResponseWriter, r *http.Request) {
	var in struct{ Name string }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"__type":"ValidationException"}`))
		return
	}
	f.mu.Lock()
	v, ok := f.params[in.Name]
	f.mu.Unlock()
	if !ok {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"__type":"ParameterNotFound"}`))
		return
	}
	type param struct {
		Name, Value, Type string
		Version           int
	}
	_ = json.NewEncoder(w).Encode(struct{ Parameter param }{param{Name: in.Name, Value: v, Type: "String", Version: 1}})
}
