'use strict';

/**
 * trading-ha API canary (CloudWatch Synthetics, Node.js + Puppeteer runtime).
 *
 * Every session and order endpoint needs `Authorization: Bearer <access token>`
 * (CONTRACT.md section 1). The canary is an OAuth2 client-credentials app
 * client of the stack's Cognito user pool: at the start of each run it reads
 * its client secret from an SSM SecureString parameter, gets an access token
 * from the token endpoint (cached until shortly before expires_in), and sends
 * it on every session and order call. Its trader id is the token's
 * (client_id, or its OIDC_TRADER_MAP name).
 *
 * Steps, each a separate Synthetics step and each asserted:
 *   1. token         POST TOKEN_URL, grant_type=client_credentials, HTTP Basic
 *                    CLIENT_ID:secret -> 200 access_token (only when no cached
 *                    token is still good)
 *   2. createSession POST /sessions (empty body)     -> 201, trader_id = the token's trader
 *   3. getSession    GET  /sessions/current (X-Session-ID) -> 200, same session
 *   4. placeOrder    POST /orders (synthetic: true, unique Idempotency-Key) -> 201
 *   5. replayOrder   POST /orders, same key and body -> 200, same order
 *   6. getOrder      GET  /orders/{order_id}         -> 200, fields match
 * A 401 from the service fails the step saying the service refused the token.
 * The service's /healthz and /readyz are not requested: the public listener
 * answers them 404 (they are for the load balancer and the container, inside
 * the VPC); a task that cannot serve shows in the first session step.
 * A 409 trading_halted at placeOrder (the kill switch is on) is final: the
 * order is never resubmitted, steps 5-6 are skipped and the run passes with
 * halted: true (an operator's halt is not an outage; stale limits, which
 * answer 503 limits_stale, still fail the step).
 *
 * The step logic (runApiCanary) is a plain function that takes an injected
 * "driver" with one method:
 *
 *   driver.httpStep(stepName, request, validate) -> Promise<validate's result>
 *     request  = { method, path | url, headers, body (string|undefined), timeoutMs }
 *                (url: an absolute URL, for the token endpoint; path: relative
 *                to TARGET_URL)
 *     validate = (response) => value; throws to fail the step.
 *     response = { statusCode, headers, body (string), json (parsed or undefined) }
 *
 * Two drivers ship in this file:
 *   - createSyntheticsDriver: wraps executeHttpStep from the runtime's
 *     '@aws/synthetics-puppeteer' module (AWS only; required lazily in handler).
 *   - createNodeDriver: plain node http/https, used by the tests and for local runs.
 *
 * The client secret comes from a "secret source" { getSecret(parameterName) }:
 * in AWS createSsmSecretSource (GetParameter WithDecryption with the AWS SDK
 * for JavaScript v3, '@aws-sdk/client-ssm', which the Synthetics Node.js
 * runtimes carry); tests inject a fake.
 *
 * Environment (handler): TARGET_URL, TOKEN_URL, CLIENT_ID and
 * CLIENT_SECRET_PARAMETER (required), SCOPE (optional, default
 * trading/probe), STEP_TIMEOUT_MS (optional, default 5000), TLS_INSECURE
 * (optional, "true" skips certificate verification of the service for
 * throw-away stacks with a self-signed certificate; the token endpoint is
 * always verified). Local runs (`node apiCanary.js`) also honour
 * LOCAL_CLIENT_SECRET instead of the parameter; the handler never reads it.
 */

const http = require('http');
const https = require('https');
const crypto = require('crypto');

/** Version of this script; package.json carries the same (a test holds them equal). */
const CANARY_VERSION = '1.1.0';
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
/**
 * Default OAuth2 scope (CONTRACT.md section 1: resource server "trading",
 * scope "probe"): the canary is a probe, not a desk; its orders are always
 * synthetic and capped by the probe limit.
 */
const DEFAULT_SCOPE = 'trading/probe';
/**
 * A cached token is used only while it has more than this left; Cognito's
 * client-credentials tokens live an hour (expires_in 3600) by default.
 */
const TOKEN_REFRESH_MARGIN_MS = 60 * 1000;
/**
 * Step names, in execution order. 'token' runs only when no cached token is
 * still good for TOKEN_REFRESH_MARGIN_MS.
 */
const STEPS = Object.freeze([
  'token',
  'createSession',
  'getSession',
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

/**
 * Where a request goes: request.url (absolute, the token endpoint) or
 * request.path under the base URL. onBase tells the two apart (TLS_INSECURE
 * applies only to the service, never to the token endpoint).
 */
function resolveTarget(base, request) {
  if (request.url !== undefined) {
    const u = request.url instanceof URL ? request.url : new URL(request.url);
    return { protocol: u.protocol, hostname: u.hostname, port: u.port, path: `${u.pathname}${u.search}`, onBase: false };
  }
  return { protocol: base.protocol, hostname: base.hostname, port: base.port, path: joinPath(base, request.path), onBase: true };
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

/** Parses TOKEN_URL: an absolute http(s) URL (https in AWS: Cognito's /oauth2/token). */
function parseTokenUrl(tokenUrl) {
  if (typeof tokenUrl !== 'string' || tokenUrl.trim() === '') {
    throw new Error('TOKEN_URL is required (for example https://<domain>.auth.us-east-1.amazoncognito.com/oauth2/token)');
  }
  let url;
  try {
    url = new URL(tokenUrl.trim());
  } catch (err) {
    throw new Error(`TOKEN_URL is not a valid URL: ${tokenUrl}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`TOKEN_URL must use http or https, got ${url.protocol}`);
  }
  return url;
}

function requiredEnv(env, name, example) {
  const v = typeof env[name] === 'string' ? env[name].trim() : '';
  if (v === '') throw new Error(`${name} is required (${example})`);
  return v;
}

/**
 * Reads the configuration from an environment map. With opts.local (the
 * `node apiCanary.js` entry point) LOCAL_CLIENT_SECRET may stand in for
 * CLIENT_SECRET_PARAMETER; the handler never honours it.
 */
function configFromEnv(env, opts = {}) {
  const baseUrl = parseTarget(env.TARGET_URL);
  const tokenUrl = parseTokenUrl(env.TOKEN_URL);
  const clientId = requiredEnv(env, 'CLIENT_ID', 'the canary app client id');
  const localSecret = opts.local && typeof env.LOCAL_CLIENT_SECRET === 'string' && env.LOCAL_CLIENT_SECRET !== '' ? env.LOCAL_CLIENT_SECRET : undefined;
  const clientSecretParameter = localSecret !== undefined && !(env.CLIENT_SECRET_PARAMETER || '').trim()
    ? undefined
    : requiredEnv(env, 'CLIENT_SECRET_PARAMETER', 'name of the SSM SecureString parameter holding the client secret');
  const scope = (env.SCOPE || '').trim() || DEFAULT_SCOPE;
  let stepTimeoutMs = DEFAULT_STEP_TIMEOUT_MS;
  if (env.STEP_TIMEOUT_MS !== undefined && env.STEP_TIMEOUT_MS !== '') {
    stepTimeoutMs = Number(env.STEP_TIMEOUT_MS);
    if (!Number.isInteger(stepTimeoutMs) || stepTimeoutMs <= 0) {
      throw new Error(`STEP_TIMEOUT_MS must be a positive integer, got ${env.STEP_TIMEOUT_MS}`);
    }
  }
  const tlsInsecure = String(env.TLS_INSECURE || '').toLowerCase() === 'true';
  const config = { baseUrl, tokenUrl, clientId, clientSecretParameter, scope, stepTimeoutMs, tlsInsecure };
  if (localSecret !== undefined) config.localClientSecret = localSecret;
  return config;
}

/**
 * A secret source backed by SSM Parameter Store: GetParameter with
 * WithDecryption (the parameter is a SecureString), AWS SDK for JavaScript v3.
 *
 * @param {object} sdk the '@aws-sdk/client-ssm' module ({ SSMClient, GetParameterCommand })
 * @param {object} [clientConfig] SSMClient configuration (region etc.; default: the environment's)
 */
function createSsmSecretSource(sdk, clientConfig = {}) {
  let client;
  return {
    async getSecret(name) {
      if (!client) client = new sdk.SSMClient(clientConfig);
      let out;
      try {
        out = await client.send(new sdk.GetParameterCommand({ Name: name, WithDecryption: true }));
      } catch (err) {
        const code = (err && (err.name || err.Code)) || 'error';
        throw new Error(`reading the client secret from SSM parameter ${name} failed: ${code}: ${err && err.message}`);
      }
      const value = out && out.Parameter && out.Parameter.Value;
      if (typeof value !== 'string' || value === '') {
        throw new Error(`SSM parameter ${name} has no value`);
      }
      return value;
    },
  };
}

/** Reads the client secret for a run: the local override, else the parameter source. */
async function readClientSecret(config, secretSource) {
  if (config.localClientSecret !== undefined) return config.localClientSecret;
  if (!secretSource || typeof secretSource.getSecret !== 'function') {
    throw new Error('no secret source to read CLIENT_SECRET_PARAMETER with');
  }
  const secret = await secretSource.getSecret(config.clientSecretParameter);
  if (typeof secret !== 'string' || secret === '') {
    throw new Error(`SSM parameter ${config.clientSecretParameter} has no value`);
  }
  return secret;
}

/**
 * Access tokens, cached per token endpoint, client, scope and secret (a new
 * secret gets a new token) until TOKEN_REFRESH_MARGIN_MS before expiry. The
 * module-level cache survives between runs in a warm Lambda container.
 */
function createTokenCache(now = () => Date.now()) {
  const entries = new Map();
  return {
    now,
    get(key) {
      const e = entries.get(key);
      if (!e) return undefined;
      if (e.expiresAt - now() <= Math.min(TOKEN_REFRESH_MARGIN_MS, e.lifetimeMs / 2)) {
        entries.delete(key);
        return undefined;
      }
      return e.accessToken;
    },
    set(key, accessToken, expiresInSeconds) {
      const lifetimeMs = expiresInSeconds * 1000;
      entries.set(key, { accessToken, expiresAt: now() + lifetimeMs, lifetimeMs });
    },
    delete(key) {
      entries.delete(key);
    },
    clear() {
      entries.clear();
    },
  };
}

const defaultTokenCache = createTokenCache();

function cacheKey(auth) {
  const digest = crypto.createHash('sha256').update(auth.clientSecret).digest('hex').slice(0, 16);
  return `${auth.tokenUrl}|${auth.clientId}|${auth.scope}|${digest}`;
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

/** Error raised when the service refuses the canary's access token (HTTP 401). */
class UnauthorizedError extends StepAssertionError {
  constructor(stepName, message) {
    super(stepName, message);
    this.name = 'UnauthorizedError';
  }
}

function headerValue(res, name) {
  const v = res.headers && res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v.join(', ') : v;
}

/**
 * Runs the canary's steps through the injected driver. Stops at the first
 * failing step (later steps depend on earlier ones) by rethrowing its error.
 *
 * @param {object} opts
 * @param {object} opts.driver      { httpStep(name, request, validate) }
 * @param {object} opts.auth        { tokenUrl: URL|string, clientId, clientSecret, scope? }
 * @param {object} [opts.tokenCache] createTokenCache() (default: the module's, shared by warm runs)
 * @param {number} [opts.stepTimeoutMs]
 * @param {() => string} [opts.idempotencyKey] key generator (tests may inject)
 * @returns {Promise<{sessionId: string, orderId: string, traderId: string, idempotencyKey: string, tokenRequests: number}>}
 */
async function runApiCanary(opts) {
  const driver = opts.driver;
  const timeoutMs = opts.stepTimeoutMs || DEFAULT_STEP_TIMEOUT_MS;
  const idempotencyKey = (opts.idempotencyKey || newIdempotencyKey)();
  if (!opts.auth || !opts.auth.tokenUrl || !opts.auth.clientId || !opts.auth.clientSecret) {
    throw new Error('runApiCanary needs auth { tokenUrl, clientId, clientSecret }');
  }
  const auth = {
    tokenUrl: String(opts.auth.tokenUrl instanceof URL ? opts.auth.tokenUrl.href : opts.auth.tokenUrl),
    clientId: opts.auth.clientId,
    clientSecret: opts.auth.clientSecret,
    scope: opts.auth.scope || DEFAULT_SCOPE,
  };
  const tokenCache = opts.tokenCache || defaultTokenCache;
  const key = cacheKey(auth);
  let tokenRequests = 0;

  const jsonHeaders = { 'Content-Type': 'application/json', Accept: 'application/json' };

  /** The access token: the cached one, else a new one from the token endpoint (step 'token'). */
  async function accessToken() {
    const cached = tokenCache.get(key);
    if (cached) return cached;
    tokenRequests += 1;
    const basic = Buffer.from(`${encodeURIComponent(auth.clientId)}:${encodeURIComponent(auth.clientSecret)}`).toString('base64');
    const form = new URLSearchParams({ grant_type: 'client_credentials', scope: auth.scope }).toString();
    const token = await driver.httpStep(
      'token',
      {
        method: 'POST',
        url: auth.tokenUrl,
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json', Authorization: `Basic ${basic}` },
        body: form,
        timeoutMs,
      },
      (res) => {
        if (res.statusCode !== 200) {
          const oauthError = res.json && res.json.error ? ` (error: ${res.json.error})` : '';
          throw new StepAssertionError('token', `the token endpoint refused the client credentials of CLIENT_ID ${auth.clientId} for scope ${auth.scope}: HTTP ${res.statusCode}${oauthError}`);
        }
        const body = expectJSON('token', res);
        expectNonEmptyString('token', body, 'access_token');
        if (body.token_type !== undefined && String(body.token_type).toLowerCase() !== 'bearer') {
          throw new StepAssertionError('token', `token_type ${JSON.stringify(body.token_type)}, want Bearer`);
        }
        const expiresIn = body.expires_in === undefined ? 3600 : Number(body.expires_in);
        if (!Number.isFinite(expiresIn) || expiresIn <= 0) {
          throw new StepAssertionError('token', `expires_in ${JSON.stringify(body.expires_in)} is not a positive number`);
        }
        return { accessToken: body.access_token, expiresIn };
      },
    );
    tokenCache.set(key, token.accessToken, token.expiresIn);
    return token.accessToken;
  }

  /** Fails the step on 401 naming the likely causes, and forgets the token. */
  function expectAuthorized(step, res) {
    if (res.statusCode === 401) {
      tokenCache.delete(key);
      const challenge = headerValue(res, 'WWW-Authenticate');
      const code = res.json && res.json.code ? ` (code: ${res.json.code})` : '';
      throw new UnauthorizedError(
        step,
        `the service refused the access token: HTTP 401${code}${challenge ? `, WWW-Authenticate: ${challenge}` : ''}; ` +
          `check that the service accepts CLIENT_ID ${auth.clientId} (OIDC_CLIENT_IDS), issuer OIDC_ISSUER matches TOKEN_URL's user pool and scope ${auth.scope} is granted`,
      );
    }
  }

  async function authed(headers) {
    return Object.assign({}, headers, { Authorization: `Bearer ${await accessToken()}` });
  }

  // 1-2. Session (the token step runs first, inside authed, when no cached
  // token is still good): the trader is the token's, so the body is empty.
  const session = await driver.httpStep(
    'createSession',
    { method: 'POST', path: '/sessions', headers: await authed(jsonHeaders), body: '', timeoutMs },
    (res) => {
      expectAuthorized('createSession', res);
      expectStatus('createSession', res, 201);
      const body = expectJSON('createSession', res);
      expectNonEmptyString('createSession', body, 'session_id');
      expectNonEmptyString('createSession', body, 'trader_id');
      return body;
    },
  );
  const sessionId = session.session_id;
  const traderId = session.trader_id;

  // 3. Read the session back.
  await driver.httpStep(
    'getSession',
    { method: 'GET', path: '/sessions/current', headers: await authed({ Accept: 'application/json', 'X-Session-ID': sessionId }), timeoutMs },
    (res) => {
      expectAuthorized('getSession', res);
      expectStatus('getSession', res, 200);
      const body = expectJSON('getSession', res);
      expectEqual('getSession', 'session_id', body.session_id, sessionId);
      expectEqual('getSession', 'trader_id', body.trader_id, traderId);
    },
  );

  // 4. Order (synthetic, so downstream consumers can ignore it).
  const orderRequest = { symbol: 'AAPL', side: 'buy', quantity: 1, limit_price: '1.00', synthetic: true };
  const orderHeaders = Object.assign({}, jsonHeaders, { 'X-Session-ID': sessionId, 'Idempotency-Key': idempotencyKey });
  const orderBody = JSON.stringify(orderRequest);
  const checkOrder = (step, body) => {
    expectNonEmptyString(step, body, 'order_id');
    if (Object.prototype.hasOwnProperty.call(body, 'session_id')) {
      throw new StepAssertionError(step, 'the order carries session_id (the contract never returns it with an order)');
    }
    expectEqual(step, 'trader_id', body.trader_id, traderId);
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
    { method: 'POST', path: '/orders', headers: await authed(orderHeaders), body: orderBody, timeoutMs },
    (res) => {
      expectAuthorized('placeOrder', res);
      if (res.statusCode === 409 && res.json && res.json.code === 'trading_halted') {
        // Final: resubmitting would place the order later without a decision.
        return { halted: true };
      }
      expectStatus('placeOrder', res, 201);
      const body = expectJSON('placeOrder', res);
      checkOrder('placeOrder', body);
      expectEqual('placeOrder', 'status', body.status, 'accepted');
      return body;
    },
  );
  if (order.halted) {
    return { sessionId, orderId: undefined, traderId, idempotencyKey, tokenRequests, halted: true };
  }
  const orderId = order.order_id;

  // 5. Idempotent replay: same key, same body -> 200 with the original order.
  await driver.httpStep(
    'replayOrder',
    { method: 'POST', path: '/orders', headers: await authed(orderHeaders), body: orderBody, timeoutMs },
    (res) => {
      expectAuthorized('replayOrder', res);
      expectStatus('replayOrder', res, 200);
      const body = expectJSON('replayOrder', res);
      if (body.order_id !== orderId) {
        throw new StepAssertionError('replayOrder', `idempotency broken: replay returned order_id ${JSON.stringify(body.order_id)}, original was ${JSON.stringify(orderId)}`);
      }
      checkOrder('replayOrder', body);
      expectEqual('replayOrder', 'created_at', body.created_at, order.created_at);
    },
  );

  // 6. Read back.
  await driver.httpStep(
    'getOrder',
    { method: 'GET', path: `/orders/${encodeURIComponent(orderId)}`, headers: await authed({ Accept: 'application/json' }), timeoutMs },
    (res) => {
      expectAuthorized('getOrder', res);
      expectStatus('getOrder', res, 200);
      const body = expectJSON('getOrder', res);
      expectEqual('getOrder', 'order_id', body.order_id, orderId);
      checkOrder('getOrder', body);
      expectEqual('getOrder', 'created_at', body.created_at, order.created_at);
    },
  );

  return { sessionId, orderId, traderId, idempotencyKey, tokenRequests, halted: false };
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
      const target = resolveTarget(base, request);
      const transport = target.protocol === 'https:' ? https : http;
      const req = transport.request(
        {
          protocol: target.protocol,
          hostname: target.hostname,
          port: target.port || undefined,
          method: request.method,
          path: target.path,
          headers,
          rejectUnauthorized: !(opts.tlsInsecure && target.onBase),
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
      log(`step ${stepName}: ${request.method} ${request.path || new URL(request.url).pathname}`);
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
      const target = resolveTarget(base, request);
      const requestOptions = {
        protocol: target.protocol,
        hostname: target.hostname,
        port: target.port ? Number(target.port) : target.protocol === 'https:' ? 443 : 80,
        method: request.method,
        path: target.path,
        headers,
        timeout: timeoutMs,
      };
      if (request.body !== undefined) requestOptions.body = request.body;
      if (opts.tlsInsecure && target.onBase) requestOptions.rejectUnauthorized = false;

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
 * Reads the environment and the client secret, then runs the steps. Shared
 * by the handler and the local entry point.
 *
 * @param {object} env process.env or a stand-in
 * @param {object} deps
 * @param {(config) => object} deps.createDriver builds the driver from the config
 * @param {object} [deps.secretSource] { getSecret(parameterName) } (required unless a local secret is set)
 * @param {object} [deps.tokenCache]
 * @param {boolean} [deps.local] honour LOCAL_CLIENT_SECRET (local runs only)
 */
async function runFromEnv(env, deps) {
  const config = configFromEnv(env, { local: deps.local === true });
  // Read at the start of every run, so a rotated secret is picked up and a
  // missing permission fails the run at once.
  const clientSecret = await readClientSecret(config, deps.secretSource);
  const driver = deps.createDriver(config);
  const result = await runApiCanary({
    driver,
    stepTimeoutMs: config.stepTimeoutMs,
    tokenCache: deps.tokenCache,
    auth: { tokenUrl: config.tokenUrl, clientId: config.clientId, clientSecret, scope: config.scope },
  });
  return Object.assign({ driver }, result);
}

/** Loads '@aws-sdk/client-ssm' (part of the Synthetics Node.js runtimes) with a clear error. */
function loadSsmSdk() {
  try {
    // eslint-disable-next-line global-require
    return require('@aws-sdk/client-ssm');
  } catch (err) {
    throw new Error(`@aws-sdk/client-ssm is not available (${err.message}): the Synthetics Node.js runtimes include the AWS SDK for JavaScript v3; for a local run install it (npm ci in infra/monitoring/canary) or set LOCAL_CLIENT_SECRET`);
  }
}

/**
 * Lambda entry point used by CloudWatch Synthetics (handler "apiCanary.handler").
 * The runtime modules are required lazily so tests can load this file without them.
 *
 * @param {object} [deps] tests only: { secretSource, tokenCache }
 */
async function handler(deps = {}) {
  // eslint-disable-next-line global-require
  const synthetics = require('@aws/synthetics-puppeteer');
  const syntheticsConfig = synthetics.getConfiguration && synthetics.getConfiguration();
  if (syntheticsConfig && syntheticsConfig.setConfig) {
    syntheticsConfig.setConfig({
      // Never record request/response bodies (tokens, sessions, orders) in artifacts.
      includeRequestBody: false,
      includeResponseBody: false,
      restrictedHeaders: ['Authorization', 'X-Session-ID', 'Idempotency-Key'],
      continueOnHttpStepFailure: false,
    });
  }
  const secretSource = (deps && deps.secretSource) || createSsmSecretSource(loadSsmSdk());
  const out = await runFromEnv(process.env, {
    secretSource,
    tokenCache: deps && deps.tokenCache,
    createDriver: (config) => createSyntheticsDriver(synthetics, config),
  });
  const { driver, ...result } = out;
  return result;
}

module.exports = {
  handler,
  runApiCanary,
  runFromEnv,
  createNodeDriver,
  createSyntheticsDriver,
  createSsmSecretSource,
  createTokenCache,
  readClientSecret,
  configFromEnv,
  parseTarget,
  StepTimeoutError,
  StepAssertionError,
  UnauthorizedError,
  STEPS,
  DEFAULT_STEP_TIMEOUT_MS,
  DEFAULT_SCOPE,
  TOKEN_REFRESH_MARGIN_MS,
  CANARY_VERSION,
  USER_AGENT,
};

// Local run (the same steps with the node driver, one line per step):
//   TARGET_URL=http://127.0.0.1:8080 TOKEN_URL=http://127.0.0.1:9000/oauth2/token CLIENT_ID=canary \
//   CLIENT_SECRET_PARAMETER=/trading/dev/probes/canary/client-secret node apiCanary.js
// The parameter is read with the AWS SDK's usual configuration (AWS_REGION,
// credentials, AWS_ENDPOINT_URL_SSM for a local SSM); LOCAL_CLIENT_SECRET
// replaces it for a local run. The last line is JSON: {"canary":"passed","order_id":...}.
if (require.main === module) {
  let driver;
  const secretSource = process.env.LOCAL_CLIENT_SECRET ? undefined : { getSecret: (name) => createSsmSecretSource(loadSsmSdk()).getSecret(name) };
  runFromEnv(process.env, {
    local: true,
    secretSource,
    createDriver: (config) => {
      driver = createNodeDriver({ baseUrl: config.baseUrl, tlsInsecure: config.tlsInsecure });
      return driver;
    },
  })
    .then((out) => {
      for (const s of driver.steps) console.log(`${s.status.toUpperCase()} ${s.name} (${s.durationMs} ms)`);
      console.log(JSON.stringify({ canary: 'passed', order_id: out.orderId, trader_id: out.traderId, token_requests: out.tokenRequests, halted: out.halted }));
    })
    .catch((err) => {
      for (const s of (driver && driver.steps) || []) console.log(`${s.status.toUpperCase()} ${s.name} (${s.durationMs} ms)${s.error ? `: ${s.error}` : ''}`);
      console.error(`canary failed: ${err.message}`);
      process.exitCode = 1;
    });
}
