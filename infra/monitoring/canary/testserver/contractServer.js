'use strict';

// A small in-memory implementation of the trading-ha HTTP contract
// (CONTRACT.md sections 1 and 2) with fault switches for the canary tests.
// It also plays the Cognito token endpoint (POST /oauth2/token, client
// credentials with HTTP Basic client authentication) and issues opaque
// bearer tokens; the trader of a token is its client id, or the name
// faults.traderMap gives it (as OIDC_TRADER_MAP does).

const http = require('http');
const crypto = require('crypto');

/**
 * Starts the server on 127.0.0.1 with an ephemeral port.
 *
 * @param {object} [faults]
 * @param {object}   [faults.clients]           client id -> secret accepted by the token endpoint (default { canary: 'canary-secret' })
 * @param {object}   [faults.traderMap]         client id -> trader id
 * @param {number}   [faults.expiresIn]         expires_in of issued tokens (default 3600)
 * @param {boolean}  [faults.rejectTokens]      the service answers 401 to every bearer token (wrong issuer or client)
 * @param {string[]} [faults.failing]           dependencies reported failing by /readyz (503)
 * @param {object}   [faults.delayMs]           per-route delay before responding, e.g. { sessions: 300 }
 * @param {boolean}  [faults.edge]              answer /healthz* and /readyz* 404 as the stack's
 *                                              public listener does (docs/service.md, Listeners)
 * @param {boolean}  [faults.brokenIdempotency] replays create a new order instead of returning the original
 * @param {boolean}  [faults.leakSessionId]     orders carry session_id (the old contract)
 * @param {boolean}  [faults.halted]            the kill switch is on: new orders answer 409 trading_halted
 *                                              (replays of accepted keys still return their order)
 * @returns {Promise<{url: string, tokenUrl: string, requests: string[], userAgents: (string|undefined)[],
 *   authorizations: (string|undefined)[], tokenRequests: object[], close: () => Promise<void>}>}
 */
async function startContractServer(faults = {}) {
  const clients = faults.clients || { canary: 'canary-secret' };
  const tokens = new Map(); // access token -> trader id
  const sessions = new Map();
  const orders = new Map();
  const byKey = new Map(); // `${trader}|${key}` -> { order, hash }
  const requests = [];
  // The User-Agent and Authorization headers of every request, in order (undefined when absent).
  const userAgents = [];
  const authorizations = [];
  // Every token request: { clientId, grantType, scope }.
  const tokenRequests = [];

  const send = (res, status, body, headers = {}) => {
    const text = JSON.stringify(body);
    res.writeHead(status, Object.assign({ 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) }, headers));
    res.end(text);
  };

  const unauthorized = (name) => [name, 401, { error: 'invalid or missing access token', code: 'unauthorized' },
    { 'WWW-Authenticate': 'Bearer realm="trading", error="invalid_token"' }];

  const token = (req, body) => {
    const form = new URLSearchParams(body);
    const m = /^Basic (.+)$/.exec(req.headers.authorization || '');
    let id;
    let secret;
    if (m) {
      const decoded = Buffer.from(m[1], 'base64').toString('utf8');
      const i = decoded.indexOf(':');
      id = decodeURIComponent(decoded.slice(0, i));
      secret = decodeURIComponent(decoded.slice(i + 1));
    }
    tokenRequests.push({ clientId: id, grantType: form.get('grant_type'), scope: form.get('scope') });
    if (form.get('grant_type') !== 'client_credentials') return ['token', 400, { error: 'unsupported_grant_type' }];
    if (!id || clients[id] === undefined || clients[id] !== secret) return ['token', 401, { error: 'invalid_client' }];
    // Probe clients (the canary) are allowed trading/probe, as their Cognito app clients are.
    if (form.get('scope') !== 'trading/probe') return ['token', 400, { error: 'invalid_scope' }];
    const accessToken = `tok-${crypto.randomUUID()}`;
    tokens.set(accessToken, (faults.traderMap && faults.traderMap[id]) || id);
    return ['token', 200, { access_token: accessToken, token_type: 'Bearer', expires_in: faults.expiresIn || 3600 }];
  };

  const route = (req, body) => {
    const url = new URL(req.url, 'http://localhost');
    const path = url.pathname;
    if (req.method === 'POST' && path === '/oauth2/token') return token(req, body);
    if (faults.edge && /^\/(healthz|readyz)/.test(path)) return ['edge', 404, { code: 'not_found' }];
    if (req.method === 'GET' && path === '/healthz') return ['healthz', 200, { status: 'ok' }];
    if (req.method === 'GET' && path === '/readyz') {
      const failing = faults.failing || [];
      const checks = { database: 'ok', sessions: 'ok', limits: 'ok', startup: 'ok' };
      for (const f of failing) checks[f] = 'fail';
      if (failing.length > 0) return ['readyz', 503, { status: 'not_ready', failing, checks }];
      return ['readyz', 200, { status: 'ready', checks }];
    }
    const name = path.startsWith('/sessions') ? 'sessions' : path.startsWith('/orders') ? 'orders' : 'unknown';
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization || '');
    const trader = bearer && !faults.rejectTokens ? tokens.get(bearer[1]) : undefined;
    if (trader === undefined && name !== 'unknown') return unauthorized(name);
    if (req.method === 'POST' && path === '/sessions') {
      let input = {};
      if (body !== '') {
        try { input = JSON.parse(body); } catch (e) { return ['sessions', 400, { error: 'invalid JSON', code: 'invalid_request' }]; }
      }
      if (input.trader_id !== undefined && input.trader_id !== trader) return ['sessions', 403, { error: 'another trader', code: 'forbidden' }];
      const now = new Date();
      const s = {
        session_id: crypto.randomUUID(),
        trader_id: trader,
        created_at: now.toISOString(),
        expires_at: new Date(now.getTime() + 8 * 3600e3).toISOString(),
      };
      sessions.set(s.session_id, s);
      return ['sessions', 201, s];
    }
    if (req.method === 'GET' && path === '/sessions/current') {
      const s = sessions.get(req.headers['x-session-id']);
      if (!s) return ['sessions', 404, { error: 'unknown or expired session', code: 'session_invalid' }];
      if (s.trader_id !== trader) return ['sessions', 403, { error: 'another trader', code: 'forbidden' }];
      return ['sessions', 200, s];
    }
    if (req.method === 'POST' && path === '/orders') {
      const s = sessions.get(req.headers['x-session-id']);
      if (!s) return ['orders', 401, { error: 'unknown or expired session', code: 'session_invalid' }];
      if (s.trader_id !== trader) return ['orders', 403, { error: 'another trader', code: 'forbidden' }];
      const key = req.headers['idempotency-key'];
      if (!key || key.length > 128) return ['orders', 400, { error: 'Idempotency-Key required', code: 'invalid_request', field: 'Idempotency-Key' }];
      let input;
      try { input = JSON.parse(body); } catch (e) { return ['orders', 400, { error: 'invalid JSON', code: 'invalid_request' }]; }
      const hash = crypto.createHash('sha256').update(body).digest('hex');
      const prior = byKey.get(`${trader}|${key}`);
      if (prior && !faults.brokenIdempotency) {
        if (prior.hash !== hash) return ['orders', 422, { error: 'idempotency key reused with a different request', code: 'idempotency_key_reused' }];
        return ['orders', 200, prior.order];
      }
      if (faults.halted) {
        return ['orders', 409, { error: 'trading is halted (kill switch); do not retry blindly', code: 'trading_halted' }];
      }
      const o = {
        order_id: crypto.randomUUID(),
        trader_id: trader,
        symbol: input.symbol,
        side: input.side,
        quantity: input.quantity,
        limit_price: input.limit_price,
        status: 'accepted',
        synthetic: input.synthetic === true,
        idempotency_key: key,
        created_at: new Date().toISOString(),
      };
      if (faults.leakSessionId) o.session_id = s.session_id;
      orders.set(o.order_id, o);
      if (!prior) byKey.set(`${trader}|${key}`, { order: o, hash });
      // With brokenIdempotency a replay gets a fresh order and 200, like a buggy dedupe.
      return ['orders', prior ? 200 : 201, o];
    }
    const m = /^\/orders\/([^/]+)$/.exec(path);
    if (req.method === 'GET' && m) {
      const o = orders.get(decodeURIComponent(m[1]));
      if (!o) return ['order', 404, { error: 'order not found', code: 'not_found' }];
      if (o.trader_id !== trader) return ['order', 403, { error: 'another trader', code: 'forbidden' }];
      return ['order', 200, o];
    }
    return ['unknown', 404, { error: 'not found', code: 'not_found' }];
  };

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      requests.push(`${req.method} ${req.url}`);
      userAgents.push(req.headers['user-agent']);
      authorizations.push(req.headers.authorization);
      const [name, status, body, headers] = route(req, Buffer.concat(chunks).toString('utf8'));
      const delay = (faults.delayMs && faults.delayMs[name]) || 0;
      if (delay > 0) {
        const t = setTimeout(() => { if (!res.destroyed) send(res, status, body, headers); }, delay);
        res.on('close', () => clearTimeout(t));
      } else {
        send(res, status, body, headers);
      }
    });
  });

  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    tokenUrl: `${url}/oauth2/token`,
    requests,
    userAgents,
    authorizations,
    tokenRequests,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

module.exports = { startContractServer };
