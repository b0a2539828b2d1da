'use strict';

/**
 * trading-ha API canary (CloudWatch Synthetics, Node.js + Puppeteer runtime).
 *
 * Steps, each a separate Synthetics step and each asserted:
 *   1. healthz       GET  /healthz                   -> 200
 *   2. readyz        GET  /readyz                    -> 200 {"status":"ready"}
 *                    (503 -> fails naming the failing dependencies from the body)
 *   3. createSession POST /sessions                  -> 201, trader_id echoed
 *   4. placeOrder    POST /orders (synthetic: true, unique Idempotency-Key) -> 201
 *   5. replayOrder   POST /orders, same key and body -> 200, same order_id
 *   6. getOrder      GET  /orders/{order_id}         -> 200, fields match
 *
 * The step logic (runApiCanary) is a plain function that takes an injected
 * "driver" with one method:
 *
 *   driver.httpStep(stepName, request, validate) -> Promise<validate's result>
 *     request  = { method, path, headers, body (string|undefined), timeoutMs }
 *     validate = (response) => value; throws to fail the step.
 *     response = { statusCode, headers, body (string), json (parsed or undefined) }
 *
 * Two drivers ship in this file:
 *   - createSyntheticsDriver: wraps executeHttpStep from the runtime's
 *     '@aws/synthetics-puppeteer' module (AWS only; required lazily in handler).
 *   - createNodeDriver: plain node http/https, used by the tests and for local runs.
 *
 * Environment (handler): TARGET_URL (required), SYNTHETIC_TRADER_ID (optional),
 * STEP_TIMEOUT_MS (optional, default 5000), TLS_INSECURE (optional, "true" skips
 * certificate verification for throw-away stacks with a self-signed certificate).
 */

const http = require('http');
const https = require('https');
const crypto = require('crypto');

/** Version of this script; package.json carries the same (a test holds them equal). */
const CANARY_VERSION = '1.0.0';
/**
 * User-Agent of every canary request. The AWS WAF core rule set's
 * NoUserAgent_HEADER rule "inspects for requests that are missing the HTTP
 * User-Agent header" and blocks them (AWS Knowledge Center, "How do I use AWS
 * WAF to block HTTP requests that don't contain a User-Agent header?"), and
 * neither node's http module nor executeHttpStep adds one: without it the
 * WAF in front of the ALB would fail every run. The name also lets access
 * logs and WAF logs tell the canary from customers.
 */
const USER_AGENT = `trading-ha-canary/${CANARY_VERSION}`;

/**
 * Copies request headers and sets User-Agent (replacing any caller value,
 * whatever its case) and Content-Length for a body.
 */
function requestHeaders(request) {
  const headers = {};
  for (const [k, v] of Object.entries(request.headers || {})) {
    if (k.toLowerCase() !== 'user-agent') headers[k] = v;
  }
  headers['User-Agent'] = USER_AGENT;
  if (request.body !== undefined) headers['Content-Length'] = Buffer.byteLength(request.body);
  return headers;
}

/** Default per-step deadline: request sent to full response body read. */
const DEFAULT_STEP_TIMEOUT_MS = 5000;
/** Default trader id used for the synthetic session. */
const DEFAULT_TRADER_ID = 'SYNTHETIC-CANARY';
/** Step names, in execution order. */
const STEPS = Object.freeze([
  'healthz',
  'readyz',
  'createSession',
  'placeOrder',
  'replayOrder',
  'getOrder',
]);

/** Error raised when a step exceeds its deadline. */
class StepTimeoutError extends Error {
  constructor(stepName, timeoutMs) {
    super(`step ${stepName} timed out after ${timeoutMs} ms`);
    this.name = 'StepTimeoutError';
    this.stepName = stepName;
    this.timeoutMs = timeoutMs;
  }
}

/** Error raised when a step's assertions fail. */
class StepAssertionError extends Error {
  constructor(stepName, message) {
    super(`step ${stepName} failed: ${message}`);
    this.name = 'StepAssertionError';
    this.stepName = stepName;
  }
}

/**
 * Parses TARGET_URL into a base URL. A bare host name (for example an ALB DNS
 * name) is treated as https://<host>.
 */
function parseTarget(targetUrl) {
  if (typeof targetUrl !== 'string' || targetUrl.trim() === '') {
    throw new Error('TARGET_URL is required (for example https://app.example.com)');
  }
  let raw = targetUrl.trim();
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) {
    raw = `https://${raw}`;
  }
  let url;
  try {
    url = new URL(raw);
  } catch (err) {
    throw new Error(`TARGET_URL is not a valid URL: ${targetUrl}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`TARGET_URL must use http or https, got ${url.protocol}`);
  }
  return url;
}

/** Joins the base URL's path prefix with an API path. */
function joinPath(base, path) {
  const prefix = base.pathname.replace(/\/+$/, '');
  return `${prefix}${path}`;
}

/** Parses a JSON body, returning undefined when it is not JSON. */
function tryParseJSON(text) {
  if (typeof text !== 'string' || text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    return undefined;
  }
}

/** Reads the configuration from an environment map. */
function configFromEnv(env) {
  const baseUrl = parseTarget(env.TARGET_URL);
  const traderId = (env.SYNTHETIC_TRADER_ID || '').trim() || DEFAULT_TRADER_ID;
  let stepTimeoutMs = DEFAULT_STEP_TIMEOUT_MS;
  if (env.STEP_TIMEOUT_MS !== undefined && env.STEP_TIMEOUT_MS !== '') {
    stepTimeoutMs = Number(env.STEP_TIMEOUT_MS);
    if (!Number.isInteger(stepTimeoutMs) || stepTimeoutMs <= 0) {
      throw new Error(`STEP_TIMEOUT_MS must be a positive integer, got ${env.STEP_TIMEOUT_MS}`);
    }
  }
  const tlsInsecure = String(env.TLS_INSECURE || '').toLowerCase() === 'true';
  return { baseUrl, traderId, stepTimeoutMs, tlsInsecure };
}

/** Creates a unique Idempotency-Key (<= 128 chars, as the contract requires). */
function newIdempotencyKey() {
  return `canary-${Date.now()}-${crypto.randomUUID()}`;
}

function expectStatus(step, res, want) {
  const wanted = Array.isArray(want) ? want : [want];
  if (!wanted.includes(res.statusCode)) {
    const detail = res.json && res.json.error ? ` (error: ${res.json.error})` : '';
    throw new StepAssertionError(step, `expected HTTP ${wanted.join(' or ')}, got ${res.statusCode}${detail}`);
  }
}

function expectJSON(step, res) {
  if (res.json === undefined || res.json === null || typeof res.json !== 'object') {
    throw new StepAssertionError(step, 'response body is not a JSON object');
  }
  return res.json;
}

function expectNonEmptyString(step, obj, field) {
  if (typeof obj[field] !== 'string' || obj[field] === '') {
    throw new StepAssertionError(step, `field ${field} missing or empty`);
  }
  return obj[field];
}

function expectEqual(step, field, got, want) {
  if (got !== want) {
    throw new StepAssertionError(step, `field ${field}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
  }
}

/**
 * Runs the canary's steps through the injected driver. Stops at the first
 * failing step (later steps depend on earlier ones) by rethrowing its error.
 *
 * @param {object} opts
 * @param {object} opts.driver      { httpStep(name, request, validate) }
 * @param {string} [opts.traderId]  trader id for the synthetic session
 * @param {number} [opts.stepTimeoutMs]
 * @param {() => string} [opts.idempotencyKey] key generator (tests may inject)
 * @returns {Promise<{sessionId: string, orderId: string, idempotencyKey: string}>}
 */
async function runApiCanary(opts) {
  const driver = opts.driver;
  const traderId = opts.traderId || DEFAULT_TRADER_ID;
  const timeoutMs = opts.stepTimeoutMs || DEFAULT_STEP_TIMEOUT_MS;
  const idempotencyKey = (opts.idempotencyKey || newIdempotencyKey)();

  const jsonHeaders = { 'Content-Type': 'application/json', Accept: 'application/json' };

  // 1. Liveness.
  await driver.httpStep('healthz', { method: 'GET', path: '/healthz', headers: { Accept: 'application/json' }, timeoutMs }, (res) => {
    expectStatus('healthz', res, 200);
  });

  // 2. Readiness (deep check).
  await driver.httpStep('readyz', { method: 'GET', path: '/readyz', headers: { Accept: 'application/json' }, timeoutMs }, (res) => {
    if (res.statusCode === 503) {
      const failing = res.json && Array.isArray(res.json.failing) ? res.json.failing : [];
      const names = failing.length > 0 ? failing.join(', ') : 'unknown (no "failing" list in body)';
      throw new StepAssertionError('readyz', `service not ready (HTTP 503); failing dependencies: ${names}`);
    }
    expectStatus('readyz', res, 200);
    const body = expectJSON('readyz', res);
    expectEqual('readyz', 'status', body.status, 'ready');
  });

  // 3. Session.
  const session = await driver.httpStep(
    'createSession',
    { method: 'POST', path: '/sessions', headers: jsonHeaders, body: JSON.stringify({ trader_id: traderId }), timeoutMs },
    (res) => {
      expectStatus('createSession', res, 201);
      const body = expectJSON('createSession', res);
      expectNonEmptyString('createSession', body, 'session_id');
      expectEqual('createSession', 'trader_id', body.trader_id, traderId);
      return body;
    },
  );
  const sessionId = session.session_id;

  // 4. Order (synthetic, so downstream consumers can ignore it).
  const orderRequest = { symbol: 'AAPL', side: 'buy', quantity: 1, limit_price: '1.00', synthetic: true };
  const orderHeaders = Object.assign({}, jsonHeaders, { 'X-Session-ID': sessionId, 'Idempotency-Key': idempotencyKey });
  const orderBody = JSON.stringify(orderRequest);
  const checkOrder = (step, body) => {
    expectNonEmptyString(step, body, 'order_id');
    expectEqual(step, 'session_id', body.session_id, sessionId);
    expectEqual(step, 'symbol', body.symbol, orderRequest.symbol);
    expectEqual(step, 'side', body.side, orderRequest.side);
    expectEqual(step, 'quantity', body.quantity, orderRequest.quantity);
    expectEqual(step, 'synthetic', body.synthetic, true);
    expectEqual(step, 'idempotency_key', body.idempotency_key, idempotencyKey);
    if (Number(body.limit_price) !== Number(orderRequest.limit_price)) {
      throw new StepAssertionError(step, `field limit_price: expected ${orderRequest.limit_price}, got ${JSON.stringify(body.limit_price)}`);
    }
  };
  const order = await driver.httpStep(
    'placeOrder',
    { method: 'POST', path: '/orders', headers: orderHeaders, body: orderBody, timeoutMs },
    (res) => {
      expectStatus('placeOrder', res, 201);
      const body = expectJSON('placeOrder', res);
      checkOrder('placeOrder', body);
      expectEqual('placeOrder', 'status', body.status, 'accepted');
      return body;
    },
  );
  const orderId = order.order_id;

  // 5. Idempotent replay: same key, same body -> 200 with the original order.
  await driver.httpStep(
    'replayOrder',
    { method: 'POST', path: '/orders', headers: orderHeaders, body: orderBody, timeoutMs },
    (res) => {
      expectStatus('replayOrder', res, 200);
      const body = expectJSON('replayOrder', res);
      if (body.order_id !== orderId) {
        throw new StepAssertionError('replayOrder', `idempotency broken: replay returned order_id ${JSON.stringify(body.order_id)}, original was ${JSON.stringify(orderId)}`);
      }
      checkOrder('replayOrder', body);
    },
  );

  // 6. Read back.
  await driver.httpStep(
    'getOrder',
    { method: 'GET', path: `/orders/${encodeURIComponent(orderId)}`, headers: { Accept: 'application/json' }, timeoutMs },
    (res) => {
      expectStatus('getOrder', res, 200);
      const body = expectJSON('getOrder', res);
      expectEqual('getOrder', 'order_id', body.order_id, orderId);
      checkOrder('getOrder', body);
      expectEqual('getOrder', 'created_at', body.created_at, order.created_at);
    },
  );

  return { sessionId, orderId, idempotencyKey };
}

/** Builds the response object handed to validate(). */
function makeResponse(res, text) {
  return { statusCode: res.statusCode, headers: res.headers, body: text, json: tryParseJSON(text) };
}

/**
 * Reads an http.IncomingMessage body as text, rejecting if the deadline passes.
 */
function readBody(res, deadline, onTimeout) {
  return new Promise((resolve, reject) => {
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      res.resume();
      reject(onTimeout());
      return;
    }
    const chunks = [];
    const timer = setTimeout(() => {
      res.destroy();
      reject(onTimeout());
    }, remaining);
    res.on('data', (c) => chunks.push(c));
    res.on('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    res.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/**
 * Creates a driver backed by node's http/https modules. Records every step in
 * driver.steps as { name, status: 'passed'|'failed', error?, durationMs }.
 *
 * @param {object} opts
 * @param {URL|string} opts.baseUrl
 * @param {boolean} [opts.tlsInsecure]
 * @param {(line: string) => void} [opts.log]
 */
function createNodeDriver(opts) {
  const base = opts.baseUrl instanceof URL ? opts.baseUrl : parseTarget(opts.baseUrl);
  const transport = base.protocol === 'https:' ? https : http;
  const log = opts.log || (() => {});
  const steps = [];

  function send(stepName, request) {
    return new Promise((resolve, reject) => {
      const timeoutMs = request.timeoutMs || DEFAULT_STEP_TIMEOUT_MS;
      const deadline = Date.now() + timeoutMs;
      const onTimeout = () => new StepTimeoutError(stepName, timeoutMs);
      let settled = false;
      const finish = (fn, value) => {
        if (!settled) {
          settled = true;
          clearTimeout(timer);
          fn(value);
        }
      };
      const headers = requestHeaders(request);
      const req = transport.request(
        {
          protocol: base.protocol,
          hostname: base.hostname,
          port: base.port || undefined,
          method: request.method,
          path: joinPath(base, request.path),
          headers,
          rejectUnauthorized: !opts.tlsInsecure,
        },
        (res) => {
          readBody(res, deadline, onTimeout).then(
            (text) => finish(resolve, makeResponse(res, text)),
            (err) => finish(reject, err),
          );
        },
      );
      const timer = setTimeout(() => {
        req.destroy();
        finish(reject, onTimeout());
      }, timeoutMs);
      req.on('error', (err) => finish(reject, err));
      if (request.body !== undefined) req.write(request.body);
      req.end();
    });
  }

  return {
    steps,
    async httpStep(stepName, request, validate) {
      const started = Date.now();
      log(`step ${stepName}: ${request.method} ${request.path}`);
      try {
        const res = await send(stepName, request);
        const value = validate(res);
        steps.push({ name: stepName, status: 'passed', durationMs: Date.now() - started });
        return value;
      } catch (err) {
        steps.push({ name: stepName, status: 'failed', error: err.message, durationMs: Date.now() - started });
        throw err;
      }
    },
  };
}

/**
 * Creates a driver backed by the Synthetics runtime's executeHttpStep, so each
 * step is reported as its own Synthetics step (metrics, HAR, step report).
 * The step's validation runs inside executeHttpStep's callback; a failure or
 * a deadline overrun rejects the callback, which marks the step failed.
 *
 * @param {object} synthetics the module returned by require('@aws/synthetics-puppeteer')
 * @param {object} opts { baseUrl: URL, tlsInsecure?: boolean }
 */
function createSyntheticsDriver(synthetics, opts) {
  const base = opts.baseUrl;
  return {
    async httpStep(stepName, request, validate) {
      const timeoutMs = request.timeoutMs || DEFAULT_STEP_TIMEOUT_MS;
      const deadline = Date.now() + timeoutMs;
      const onTimeout = () => new StepTimeoutError(stepName, timeoutMs);
      const headers = requestHeaders(request);
      const requestOptions = {
        protocol: base.protocol,
        hostname: base.hostname,
        port: base.port ? Number(base.port) : base.protocol === 'https:' ? 443 : 80,
        method: request.method,
        path: joinPath(base, request.path),
        headers,
        timeout: timeoutMs,
      };
      if (request.body !== undefined) requestOptions.body = request.body;
      if (opts.tlsInsecure) requestOptions.rejectUnauthorized = false;

      let outcome; // { ok: true, value } | { ok: false, error }
      const callback = async (res) => {
        try {
          const text = await readBody(res, deadline, onTimeout);
          outcome = { ok: true, value: validate(makeResponse(res, text)) };
          return outcome.value;
        } catch (err) {
          outcome = { ok: false, error: err };
          throw err;
        }
      };
      // Runtimes >= 11.0 accept only a few step-level overrides; this is one of them.
      const stepConfig = { continueOnHttpStepFailure: false };

      let timer;
      const hang = new Promise((_, reject) => {
        // Backstop for a response whose headers never arrive.
        timer = setTimeout(() => reject(onTimeout()), timeoutMs + 250);
      });
      try {
        await Promise.race([synthetics.executeHttpStep(stepName, requestOptions, callback, stepConfig), hang]);
      } finally {
        clearTimeout(timer);
      }
      if (outcome === undefined) throw new StepAssertionError(stepName, 'no response received');
      if (!outcome.ok) throw outcome.error;
      return outcome.value;
    },
  };
}

/**
 * Lambda entry point used by CloudWatch Synthetics (handler "apiCanary.handler").
 * The runtime module is required lazily so tests can load this file without it.
 */
async function handler() {
  const config = configFromEnv(process.env);
  // eslint-disable-next-line global-require
  const synthetics = require('@aws/synthetics-puppeteer');
  const syntheticsConfig = synthetics.getConfiguration && synthetics.getConfiguration();
  if (syntheticsConfig && syntheticsConfig.setConfig) {
    syntheticsConfig.setConfig({
      // Never record request/response bodies (sessions, orders) in artifacts.
      includeRequestBody: false,
      includeResponseBody: false,
      restrictedHeaders: ['X-Session-ID', 'Idempotency-Key'],
      continueOnHttpStepFailure: false,
    });
  }
  const driver = createSyntheticsDriver(synthetics, config);
  return runApiCanary({ driver, traderId: config.traderId, stepTimeoutMs: config.stepTimeoutMs });
}

module.exports = {
  handler,
  runApiCanary,
  createNodeDriver,
  createSyntheticsDriver,
  configFromEnv,
  parseTarget,
  StepTimeoutError,
  StepAssertionError,
  STEPS,
  DEFAULT_STEP_TIMEOUT_MS,
  DEFAULT_TRADER_ID,
  CANARY_VERSION,
  USER_AGENT,
};

// Local run: `TARGET_URL=http://127.0.0.1:8080 node apiCanary.js` runs the same
// steps with the node driver and prints one line per step.
if (require.main === module) {
  const config = configFromEnv(process.env);
  const driver = createNodeDriver({ baseUrl: config.baseUrl, tlsInsecure: config.tlsInsecure });
  runApiCanary({ driver, traderId: config.traderId, stepTimeoutMs: config.stepTimeoutMs })
    .then((out) => {
      for (const s of driver.steps) console.log(`${s.status.toUpperCase()} ${s.name} (${s.durationMs} ms)`);
      console.log(`canary passed: order ${out.orderId}`);
    })
    .catch((err) => {
      for (const s of driver.steps) console.log(`${s.status.toUpperCase()} ${s.name} (${s.durationMs} ms)${s.error ? `: ${s.error}` : ''}`);
      console.error(`canary failed: ${err.message}`);
      process.exitCode = 1;
    });
}
