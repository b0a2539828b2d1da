package risk_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/trading-ha/trading-ha/app/internal/orders"
	"github.com/trading-ha/trading-ha/app/internal/risk"
	"github.com/trading-ha/trading-ha/app/internal/testkit"
)

const path = "/trading/test"

func engine(t *testing.T) (*testkit.FakeSSM, *risk.Engine) {
	t.Helper()
	f := testkit.StartFakeSSM()
	t.Cleanup(f.Close)
	client := ssm.New(ssm.Options{Region: testkit.Region, Credentials: testkit.Credentials(), BaseEndpoint: aws.String(f.URL),
		RetryMaxAttempts: 1})
	return f, risk.NewEngine(client, path, 50*time.Millisecond, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

var order = orders.Request{Symbol: "AAPL", Side: "buy", Quantity: 100, LimitPrice: "187.25"}

func TestFailsClosedUntilLoadedThenKeepsLastGood(t *testing.T) {
	f, e := engine(t)
	ctx := context.Background()
	if r := e.Check(risk.Caller{Trader: "T"}, order); r == nil || r.Code != risk.CodeLimitsUnavailable || r.Status != 503 {
		t.Fatalf("before load: %+v", r)
	}
	if e.Ready(ctx) == nil {
		t.Fatal("ready before load")
	}
	f.Set(path+"/limits/max-notional", "5000")
	f.Set(path+"/reference-prices/AAPL", "187")
	if err := e.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if r := e.Check(risk.Caller{Trader: "T"}, order); r == nil || r.Code != risk.CodeMaxNotional || r.Status != 422 {
		t.Fatalf("18725 notional over 5000: %+v", r)
	}
	small := order
	small.Quantity = 10
	if r := e.Check(risk.Caller{Trader: "T"}, small); r != nil {
		t.Fatalf("1872.5 notional: %+v", r)
	}
	f.Fail(true)
	if err := e.Refresh(ctx); err == nil {
		t.Fatal("refresh against a failing SSM succeeded")
	}
	if e.Current().MaxNotional.FloatString(0) != "5000" || e.Ready(ctx) != nil {
		t.Fatalf("last good values lost: %v", e.Current().MaxNotional)
	}
}

func TestPriceBandAndRate(t *testing.T) {
	f, e := engine(t)
	ctx := context.Background()
	f.Set(path+"/reference-prices/AAPL", "180")
	f.Set(path+"/limits/price-band-pct", "5")
	f.Set(path+"/limits/max-orders-per-second", "3")
	f.Set(path+"/limits/max-notional", "not-a-number")
	if err := e.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if r := e.Check(risk.Caller{Trader: "T"}, order); r != nil { // 187.25 is 4.03% above 180
		t.Fatalf("within band: %+v", r)
	}
	far := order
	far.LimitPrice = "200"
	if r := e.Check(risk.Caller{Trader: "T"}, far); r == nil || r.Code != risk.CodePriceBand {
		t.Fatalf("outside band: %+v", r)
	}
	other := far
	other.Symbol = "MSFT" // no reference price: refused, not waved through
	if r := e.Check(risk.Caller{Trader: "T"}, other); r == nil || r.Code != risk.CodeReferencePriceMissing {
		t.Fatalf("no reference: %+v", r)
	}
	limited := 0
	for range 5 {
		if r := e.Check(risk.Caller{Trader: "T2"}, order); r != nil && r.Code == risk.CodeRateLimited && r.Status == 429 {
			limited++
		}
	}
	if limited != 2 {
		t.Fatalf("%d of 5 rapid orders rate-limited, want 2 (burst 3)", limited)
	}
	if r := e.Check(risk.Caller{Trader: "T3"}, order); r != nil {
		t.Fatalf("the rate is per trader: %+v", r)
	}
}

func TestKillSwitchStopsOrdersWithinRefreshInterval(t *testing.T) {
	f, e := engine(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.Set(path+"/flags/trading-enabled", "true")
	f.Set(path+"/reference-prices/AAPL", "187")
	go e.Run(ctx)
	deadline := time.Now().Add(2 * time.Second)
	for e.Ready(ctx) != nil && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if r := e.Check(risk.Caller{Trader: "T"}, order); r != nil {
		t.Fatalf("enabled: %+v", r)
	}
	f.Set(path+"/flags/trading-enabled", "false")
	flipped := time.Now()
	for e.Check(risk.Caller{Trader: "T"}, order) == nil {
		if time.Since(flipped) > time.Second {
			t.Fatal("kill switch not applied within 1s (interval 50ms)")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The halt is final: 409, not retryable (no Retry-After): an order
	// after trading resumes needs a new decision.
	if r := e.Check(risk.Caller{Trader: "T"}, order); r.Code != "trading_halted" || r.Status != 409 || r.Retryable() {
		t.Fatalf("halted: %+v, want 409 trading_halted, not retryable", r)
	}
}

// TestProbeLimit: a probe's order is capped (quantity and notional) and
// not held to the price band; a desk's is held to the band, not the cap.
func TestProbeLimit(t *testing.T) {
	f, e := engine(t)
	f.Set(path+"/reference-prices/AAPL", "187")
	if err := e.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	probe := risk.Caller{Trader: "canary", Probe: true}
	nominal := orders.Request{Symbol: "AAPL", Side: "buy", Quantity: 1, LimitPrice: "1"}
	if r := e.Check(probe, nominal); r != nil {
		t.Fatalf("probe at a nominal price: %+v, want accepted (no band for probes)", r)
	}
	for _, over := range []orders.Request{
		{Symbol: "AAPL", Side: "buy", Quantity: 2, LimitPrice: "1"},
		{Symbol: "AAPL", Side: "buy", Quantity: 1, LimitPrice: "10.01"},
	} {
		if r := e.Check(probe, over); r == nil || r.Status != 422 || r.Code != risk.CodeProbeLimit {
			t.Errorf("probe %+v: %+v, want 422 %s", over, r, risk.CodeProbeLimit)
		}
	}
	if r := e.Check(risk.Caller{Trader: "desk"}, nominal); r == nil || r.Code != risk.CodePriceBand {
		t.Errorf("desk at a nominal price: %+v, want %s", r, risk.CodePriceBand)
	}
}

// TestMissingReferencePriceRefuses: a desk's order for a symbol without a
// reference price — never set, or deleted — is refused naming the missing
// input, instead of passing without a band.
func TestMissingReferencePriceRefuses(t *testing.T) {
	f, e := engine(t)
	ctx := context.Background()
	f.Set(path+"/reference-prices/AAPL", "187")
	f.Set(path+"/reference-prices/MSFT", "410")
	if err := e.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	desk := risk.Caller{Trader: "T"}
	msft := orders.Request{Symbol: "MSFT", Side: "buy", Quantity: 1, LimitPrice: "410"}
	if r := e.Check(desk, msft); r != nil {
		t.Fatalf("MSFT with a reference price: %+v", r)
	}
	f.Delete(path + "/reference-prices/MSFT")
	if err := e.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	for _, req := range []orders.Request{msft, {Symbol: "NVDA", Side: "buy", Quantity: 1, LimitPrice: "100"}} {
		r := e.Check(desk, req)
		if r == nil || r.Status != 422 || r.Code != risk.CodeReferencePriceMissing || r.Field != "symbol" || r.Retryable() {
			t.Errorf("%s without a reference price: %+v, want 422 %s on symbol", req.Symbol, r, risk.CodeReferencePriceMissing)
		}
	}
	if r := e.Check(desk, order); r != nil {
		t.Fatalf("AAPL still has its reference price: %+v", r)
	}
	// Without Parameter Store (local development) there are no reference
	// prices and no band.
	local := risk.NewEngine(nil, "", time.Second, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if r := local.Check(desk, msft); r != nil {
		t.Fatalf("no Parameter Store: %+v", r)
	}
}

// TestStaleLimitsFailClosed: while Parameter Store fails, the last loaded
// limits serve for the staleness bound (limits/max-staleness-seconds);
// beyond it new orders are refused 503 limits_stale, and the first good
// refresh lifts that. The age is what the metric reports.
func TestStaleLimitsFailClosed(t *testing.T) {
	f, e := engine(t)
	ctx := context.Background()
	f.Set(path+"/reference-prices/AAPL", "187")
	f.Set(path+"/limits/max-staleness-seconds", "1")
	if err := e.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	desk := risk.Caller{Trader: "T"}
	f.Fail(true)
	if err := e.Refresh(ctx); err == nil {
		t.Fatal("refresh against a failing SSM succeeded")
	}
	if r := e.Check(desk, order); r != nil {
		t.Fatalf("within the staleness bound: %+v, want the last good limits to serve", r)
	}
	time.Sleep(1200 * time.Millisecond)
	r := e.Check(desk, order)
	if r == nil || r.Status != 503 || r.Code != "limits_stale" || !r.Retryable() {
		t.Fatalf("limits %s old with a 1s bound: %+v, want 503 limits_stale", e.LimitsAge().Round(time.Millisecond), r)
	}
	if age := e.LimitsAge(); age < time.Second {
		t.Fatalf("limits age %s, want > 1s", age)
	}
	f.Fail(false)
	if err := e.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if r := e.Check(desk, order); r != nil {
		t.Fatalf("after a good refresh: %+v", r)
	}
}
