// Package risk enforces pre-trade limits and the trading kill switch, read
// from SSM Parameter Store and refreshed every few seconds.
//
// Parameters (names relative to the configured path, e.g. /trading/dev; all
// type String):
//
//	flags/trading-enabled        "true" | "false"     kill switch (false halts new orders: 409 trading_halted)
//	limits/max-notional          decimal              per order, quantity x limit_price
//	limits/price-band-pct        decimal              max % distance of limit_price from the reference price
//	limits/max-orders-per-second decimal              per trader, per task (token bucket, burst = 1 s)
//	limits/max-staleness-seconds decimal              how long the last loaded values serve while Parameter Store fails (default 60)
//	reference-prices/<SYMBOL>    decimal              reference price; a desk's order for a symbol without one is refused
//
// A missing parameter takes its default; an unparsable one keeps the last
// good value and is logged. The engine fails closed: until the first
// successful load orders answer 503 limits_unavailable; after that a failed
// refresh keeps the last good values for the staleness bound, and beyond
// it orders answer 503 limits_stale until a refresh succeeds. That refusal
// needs nothing from Parameter Store, so when the kill switch cannot be
// read (or written) trading still halts within the bound. A desk's order
// for a symbol with no reference price (never set, or deleted) is refused
// 422 reference_price_missing rather than passing without a band. Without
// Parameter Store at all (no path: local development) the defaults apply,
// there is no kill switch, no reference price and no band.
package risk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/trading-ha/trading-ha/app/internal/orders"
)

// Parameter names relative to the path.
const (
	ParamTradingEnabled     = "flags/trading-enabled"
	ParamMaxNotional        = "limits/max-notional"
	ParamPriceBandPct       = "limits/price-band-pct"
	ParamMaxOrdersPerSecond = "limits/max-orders-per-second"
	ParamMaxStaleness       = "limits/max-staleness-seconds"
	ParamReferencePrices    = "reference-prices/"
)

// Bounds of limits/max-staleness-seconds; the bound in force is never less
// than three refresh intervals, so a healthy refresh cycle never trips it.
const (
	DefaultMaxStaleness = time.Minute
	minMaxStaleness     = time.Second
	maxMaxStaleness     = time.Hour
)

// Rejection codes (the "code" member of error responses).
const (
	// CodeTradingHalted is the kill switch: a final refusal (409), never a
	// retry hint — an order after trading resumes needs a new decision.
	CodeTradingHalted     = "trading_halted"
	CodeLimitsUnavailable = "limits_unavailable"
	// CodeLimitsStale refuses new orders while the last loaded limits are
	// older than the staleness bound (Parameter Store unreachable).
	CodeLimitsStale = "limits_stale"
	// CodeReferencePriceMissing refuses a desk's order for a symbol with no
	// reference price (the band cannot be applied).
	CodeReferencePriceMissing = "reference_price_missing"
	CodeMaxNotional           = "max_notional_exceeded"
	CodePriceBand             = "price_band_exceeded"
	CodeRateLimited           = "order_rate_exceeded"
	// CodeProbeLimit refuses a probe's order above the probe limit.
	CodeProbeLimit = "probe_limit_exceeded"
)

// The probe limit: a probe (the canary, the smoke test) exercises the
// order path, not the market. Its orders are synthetic and at most
// ProbeMaxQuantity units and ProbeMaxNotional in notional; the price band
// does not apply to them (a probe's nominal price of 1.00 is no market
// price, and the cap already bounds it). The kill switch, the limits'
// availability, max notional and the rate limit do apply.
const (
	ProbeMaxQuantity = 1
	ProbeMaxNotional = 10
)

// Caller is who places an order.
type Caller struct {
	// Trader is the trader identity (the rate limit is per trader).
	Trader string
	// Probe marks a synthetic caller (scope trading/probe): the probe limit
	// applies instead of the price band.
	Probe bool
}

// Limits are the values in force.
type Limits struct {
	// TradingEnabled is the kill switch.
	TradingEnabled bool
	// MaxNotional caps quantity x limit_price per order.
	MaxNotional *big.Rat
	// PriceBandPct caps |limit_price - reference| / reference x 100.
	PriceBandPct *big.Rat
	// MaxOrdersPerSecond is the per-trader rate (per task).
	MaxOrdersPerSecond float64
	// MaxStaleness is how long these values serve while refreshes fail.
	MaxStaleness time.Duration
	// ReferencePrices by symbol.
	ReferencePrices map[string]*big.Rat
}

// Defaults are the values used for parameters that are not set.
func Defaults() Limits {
	return Limits{TradingEnabled: true, MaxNotional: big.NewRat(1_000_000, 1), PriceBandPct: big.NewRat(10, 1),
		MaxOrdersPerSecond: 200, MaxStaleness: DefaultMaxStaleness, ReferencePrices: map[string]*big.Rat{}}
}

// Rejection is a refused order.
type Rejection struct {
	// Status is the HTTP status (409, 422, 429 or 503).
	Status int
	// Code is the machine-readable reason.
	Code string
	// Message explains it.
	Message string
	// Field names the offending request field, if any.
	Field string
}

// API is the SSM subset the engine uses.
type API interface {
	GetParametersByPath(ctx context.Context, in *ssm.GetParametersByPathInput, opts ...func(*ssm.Options)) (*ssm.GetParametersByPathOutput, error)
}

// Engine holds the current limits and checks orders against them.
type Engine struct {
	api      API
	path     string
	interval time.Duration
	log      *slog.Logger
	now      func() time.Time

	mu      sync.Mutex
	limits  Limits
	loaded  bool
	buckets map[string]*bucket
	// started is when the engine was made; loadedAt when a refresh last
	// succeeded (the limits' age counts from it).
	started, loadedAt time.Time
	// stale remembers that the staleness bound was passed (logged once).
	stale bool
}

type bucket struct {
	tokens float64
	last   time.Time
}

// NewEngine returns an engine reading path through api every interval. A
// nil api means no Parameter Store: the defaults apply and the engine is
// ready at once.
func NewEngine(api API, path string, interval time.Duration, log *slog.Logger) *Engine {
	if interval <= 0 {
		interval = 5 * time.Second
	}
	return &Engine{api: api, path: strings.TrimRight(path, "/"), interval: interval, log: log, now: time.Now,
		limits: Defaults(), loaded: api == nil, buckets: map[string]*bucket{}, started: time.Now()}
}

// LimitsAge is how old the limits in force are: the time since the last
// successful refresh (since start while none succeeded yet); 0 without
// Parameter Store. The RiskLimitsAgeSeconds metric reports it.
func (e *Engine) LimitsAge() time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.age(e.now())
}

// age is LimitsAge with e.mu held.
func (e *Engine) age(now time.Time) time.Duration {
	switch {
	case e.api == nil:
		return 0
	case !e.loaded:
		return now.Sub(e.started)
	}
	return now.Sub(e.loadedAt)
}

// staleBound is the staleness bound in force: the parameter, but never
// less than three refresh intervals (e.mu held).
func (e *Engine) staleBound() time.Duration {
	return max(e.limits.MaxStaleness, 3*e.interval)
}

// Ready returns nil once limits have been loaded at least once.
func (e *Engine) Ready(context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.loaded {
		return errors.New("risk limits not loaded yet")
	}
	return nil
}

// Current returns the limits in force.
func (e *Engine) Current() Limits {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.limits
}

// Run refreshes until ctx ends.
func (e *Engine) Run(ctx context.Context) {
	if e.api == nil {
		return
	}
	for {
		if err := e.Refresh(ctx); err != nil && ctx.Err() == nil {
			e.log.LogAttrs(ctx, slog.LevelWarn, "risk parameters refresh failed; keeping last good values",
				slog.String("path", e.path), slog.String("error", err.Error()))
		}
		t := time.NewTimer(e.interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// Refresh reads the parameters once.
func (e *Engine) Refresh(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, max(e.interval, 2*time.Second))
	defer cancel()
	values := map[string]string{}
	for _, sub := range []string{"/flags", "/limits", "/reference-prices"} {
		var next *string
		for {
			out, err := e.api.GetParametersByPath(ctx, &ssm.GetParametersByPathInput{
				Path: aws.String(e.path + sub), Recursive: aws.Bool(true), NextToken: next, MaxResults: aws.Int32(10),
			})
			if err != nil {
				return fmt.Errorf("get parameters by path %s: %w", e.path+sub, err)
			}
			for _, p := range out.Parameters {
				values[strings.TrimPrefix(aws.ToString(p.Name), e.path+"/")] = strings.TrimSpace(aws.ToString(p.Value))
			}
			if out.NextToken == nil || *out.NextToken == "" {
				break
			}
			next = out.NextToken
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	prev := e.limits
	if !e.loaded {
		prev = Defaults()
	}
	next, problems := parse(values, prev)
	for _, p := range problems {
		e.log.LogAttrs(ctx, slog.LevelWarn, "invalid risk parameter ignored", slog.String("problem", p))
	}
	if e.loaded && next.TradingEnabled != e.limits.TradingEnabled {
		e.log.LogAttrs(ctx, slog.LevelWarn, "trading kill switch changed", slog.Bool("trading_enabled", next.TradingEnabled))
	}
	if e.stale {
		e.log.LogAttrs(ctx, slog.LevelWarn, "risk limits fresh again: new orders accepted",
			slog.Float64("stale_seconds", e.age(e.now()).Seconds()))
		e.stale = false
	}
	e.limits, e.loaded, e.loadedAt = next, true, e.now()
	return nil
}

func parse(values map[string]string, prev Limits) (Limits, []string) {
	def := Defaults()
	l := Limits{TradingEnabled: def.TradingEnabled, MaxNotional: def.MaxNotional, PriceBandPct: def.PriceBandPct,
		MaxOrdersPerSecond: def.MaxOrdersPerSecond, ReferencePrices: map[string]*big.Rat{}}
	var problems []string
	if v, ok := values[ParamTradingEnabled]; ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			problems = append(problems, ParamTradingEnabled+": not a boolean")
			b = prev.TradingEnabled
		}
		l.TradingEnabled = b
	}
	rat := func(name string, fallback *big.Rat) *big.Rat {
		v, ok := values[name]
		if !ok {
			return fallback
		}
		r, ok := new(big.Rat).SetString(v)
		if !ok || r.Sign() <= 0 {
			problems = append(problems, name+": not a positive decimal")
			return nil
		}
		return r
	}
	if r := rat(ParamMaxNotional, def.MaxNotional); r != nil {
		l.MaxNotional = r
	} else {
		l.MaxNotional = prev.MaxNotional
	}
	if r := rat(ParamPriceBandPct, def.PriceBandPct); r != nil {
		l.PriceBandPct = r
	} else {
		l.PriceBandPct = prev.PriceBandPct
	}
	l.MaxStaleness = def.MaxStaleness
	if v, ok := values[ParamMaxStaleness]; ok {
		f, err := strconv.ParseFloat(v, 64)
		d := time.Duration(f * float64(time.Second))
		if err != nil || d < minMaxStaleness || d > maxMaxStaleness {
			problems = append(problems, ParamMaxStaleness+": not a number of seconds between 1 and 3600")
			d = prev.MaxStaleness
		}
		l.MaxStaleness = d
	}
	if v, ok := values[ParamMaxOrdersPerSecond]; ok {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 {
			problems = append(problems, ParamMaxOrdersPerSecond+": not a positive number")
			f = prev.MaxOrdersPerSecond
		}
		l.MaxOrdersPerSecond = f
	}
	for name := range values {
		sym, ok := strings.CutPrefix(name, ParamReferencePrices)
		if !ok {
			continue
		}
		if r := rat(name, nil); r != nil {
			l.ReferencePrices[sym] = r
		} else if old, ok := prev.ReferencePrices[sym]; ok {
			l.ReferencePrices[sym] = old
		}
	}
	return l, problems
}

// Check applies the kill switch, the limits (the probe limit for a probe)
// and the trader's order rate. It returns nil when the order may proceed.
func (e *Engine) Check(c Caller, req orders.Request) *Rejection {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.loaded {
		return &Rejection{Status: 503, Code: CodeLimitsUnavailable, Message: "risk limits are not available yet; retry"}
	}
	l := e.limits
	now := e.now()
	if e.api != nil && e.age(now) > e.staleBound() {
		if !e.stale {
			e.stale = true
			e.log.LogAttrs(context.Background(), slog.LevelError, "risk limits stale: refusing new orders until Parameter Store answers",
				slog.Float64("age_seconds", e.age(now).Seconds()), slog.Float64("bound_seconds", e.staleBound().Seconds()))
		}
		return &Rejection{Status: 503, Code: CodeLimitsStale,
			Message: "risk limits are stale (Parameter Store unreachable); new orders are refused until they are fresh again; retry"}
	}
	if !l.TradingEnabled {
		return &Rejection{Status: 409, Code: CodeTradingHalted,
			Message: "trading is halted (kill switch); do not retry blindly: a new order after trading resumes needs a new decision"}
	}
	price, ok := new(big.Rat).SetString(req.LimitPrice)
	if !ok {
		return &Rejection{Status: 400, Code: "invalid_request", Message: "limit_price is not a decimal", Field: "limit_price"}
	}
	notional := new(big.Rat).Mul(price, new(big.Rat).SetInt64(req.Quantity))
	if notional.Cmp(l.MaxNotional) > 0 {
		return &Rejection{Status: 422, Code: CodeMaxNotional, Field: "quantity",
			Message: "order notional " + notional.FloatString(2) + " exceeds the limit " + l.MaxNotional.FloatString(2)}
	}
	if c.Probe {
		if rej := probeLimit(req, notional); rej != nil {
			return rej
		}
	} else if rej := e.priceBand(l, req, price); rej != nil {
		return rej
	}
	return e.takeToken(c.Trader, l.MaxOrdersPerSecond, now)
}

// probeLimit caps a probe's order.
func probeLimit(req orders.Request, notional *big.Rat) *Rejection {
	if req.Quantity > ProbeMaxQuantity {
		return &Rejection{Status: 422, Code: CodeProbeLimit, Field: "quantity",
			Message: fmt.Sprintf("a probe's order may have quantity %d at most", ProbeMaxQuantity)}
	}
	if notional.Cmp(big.NewRat(ProbeMaxNotional, 1)) > 0 {
		return &Rejection{Status: 422, Code: CodeProbeLimit, Field: "limit_price",
			Message: fmt.Sprintf("a probe's order may have a notional of %d at most", ProbeMaxNotional)}
	}
	return nil
}

// priceBand holds a desk's limit price near the symbol's reference price.
// A symbol without one is refused: the band is a control, and a control
// that silently disappears with its input is not one. Without Parameter
// Store (local development) there are no reference prices and no band.
func (e *Engine) priceBand(l Limits, req orders.Request, price *big.Rat) *Rejection {
	ref, ok := l.ReferencePrices[req.Symbol]
	if !ok {
		if e.api == nil {
			return nil
		}
		return &Rejection{Status: 422, Code: CodeReferencePriceMissing, Field: "symbol",
			Message: "no reference price for " + req.Symbol + " (" + ParamReferencePrices + req.Symbol + "): the price band cannot be applied"}
	}
	diff := new(big.Rat).Sub(price, ref)
	diff.Abs(diff)
	pct := new(big.Rat).Mul(new(big.Rat).Quo(diff, ref), big.NewRat(100, 1))
	if pct.Cmp(l.PriceBandPct) > 0 {
		return &Rejection{Status: 422, Code: CodePriceBand, Field: "limit_price",
			Message: "limit_price is " + pct.FloatString(2) + "% from the reference price; the band is " + l.PriceBandPct.FloatString(2) + "%"}
	}
	return nil
}

// takeToken spends one of the trader's order-rate tokens (e.mu held).
func (e *Engine) takeToken(trader string, rate float64, now time.Time) *Rejection {
	b, ok := e.buckets[trader]
	burst := max(rate, 1)
	if !ok {
		if len(e.buckets) > 10000 {
			clear(e.buckets)
		}
		b = &bucket{tokens: burst, last: now}
		e.buckets[trader] = b
	}
	b.tokens = min(burst, b.tokens+now.Sub(b.last).Seconds()*rate)
	b.last = now
	if b.tokens < 1 {
		return &Rejection{Status: 429, Code: CodeRateLimited, Message: "order rate limit exceeded; slow down"}
	}
	b.tokens--
	return nil
}

// Retryable reports whether the same request may succeed later without a
// new decision (429, 503: answered with Retry-After); 409 and 422 are final.
func (r *Rejection) Retryable() bool {
	return r.Status == 429 || r.Status == 503
}

// Metric names published in CloudWatch Embedded Metric Format (see
// CONTRACT.md section 7): namespace METRICS_NAMESPACE, dimension
// Service=trading, one line per task every METRICS_INTERVAL.
const (
	// MetricLimitsAge is LimitsAge in seconds: alarm on Maximum above the
	// staleness bound (60 s by default), when tasks refuse new orders
	// 503 limits_stale.
	MetricLimitsAge = "RiskLimitsAgeSeconds"
	// DimensionService is the metric's only dimension; its value is "trading".
	DimensionService = "Service"
)

// RunMetrics writes the limits' age as an EMF log line every interval
// (default one minute) until ctx ends.
func (e *Engine) RunMetrics(ctx context.Context, namespace string, interval time.Duration) {
	if interval <= 0 {
		interval = time.Minute
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			e.EmitMetrics(ctx, namespace)
		}
	}
}

// EmitMetrics writes one EMF log line with MetricLimitsAge (on stdout the
// awslogs driver ships it to CloudWatch Logs, where it becomes a metric).
func (e *Engine) EmitMetrics(ctx context.Context, namespace string) {
	emf := map[string]any{
		"Timestamp": time.Now().UnixMilli(),
		"CloudWatchMetrics": []map[string]any{{
			"Namespace":  namespace,
			"Dimensions": [][]string{{DimensionService}},
			"Metrics":    []map[string]string{{"Name": MetricLimitsAge, "Unit": "Seconds"}},
		}},
	}
	e.log.LogAttrs(ctx, slog.LevelInfo, "risk metrics",
		slog.Any("_aws", emf), slog.String(DimensionService, "trading"),
		slog.Float64(MetricLimitsAge, e.LimitsAge().Seconds()))
}
