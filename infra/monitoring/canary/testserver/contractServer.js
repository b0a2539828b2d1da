'use strict';

// A small in-memory implementation of the trading-ha HTTP contract
// (CONTRACT.md, "Reference service") with fault switches for the canary tests.

const http = require('http');
const crypto = require('crypto');

/**
 * Starts the server on 127.0.0.1 with an ephemeral port.
 *
 * @param {object} [faults]
 * @param {string[]} [faults.failing]       dependencies reported failing by /readyz (503)
 * @param {object}   [faults.delayMs]       per-route delay before responding, e.g. { readyz: 300 }
 * @param {boolean}  [faults.brokenIdempotency] replays create a new order instead of returning the original
 * @returns {Promise<{url: string, requests: string[], userAgents: (string|undefined)[], close: () => Promise<void>}>}
 */
async function startContractServer(faults = {}) {
  const sessions = new Map();
  const orders = new Map();
  const byKey = new Map(); // `${session}|${key}` -> { order, bodyHash }
  const requests = [];
  // The User-Agent header of every request, in order (undefined when absent).
  const userAgents = [];

  const send = (res, status, body) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  };

  const route = (req, body) => {
    const url = new URL(req.url, 'http://localhost');
    const path = url.pathname;
    if (req.method === 'GET' && path === '/healthz') return ['healthz', 200, { status: 'ok' }];
    if (req.method === 'GET' && path === '/readyz') {
      const failing = faults.failing || [];
      const checks = { database: 'ok', sessions: 'ok', config: 'ok' };
      for (const f of failing) checks[f] = 'error: connection refused';
      if (failing.length > 0) return ['readyz', 503, { status: 'not_ready', failing, checks }];
      return ['readyz', 200, { status: 'ready', checks }];
    }
    if (req.method === 'POST' && path === '/sessions') {
      let input;
      try { input = JSON.parse(body); } catch (e) { return ['sessions', 400, { error: 'invalid JSON' }]; }
      if (!input.trader_id) return ['sessions', 400, { error: 'trader_id required', field: 'trader_id' }];
      const now = new Date();
      const s = {
        session_id: crypto.randomUUID(),
        trader_id: input.trader_id,
        created_at: now.toISOString(),
        expires_at: new Date(now.getTime() + 8 * 3600e3).toISOString(),
      };
      sessions.set(s.session_id, s);
      return ['sessions', 201, s];
    }
    if (req.method === 'POST' && path === '/orders') {
      const sid = req.headers['x-session-id'];
      if (!sid || !sessions.has(sid)) return ['orders', 401, { error: 'unknown or expired session' }];
      const key = req.headers['idempotency-key'];
      if (!key || key.length > 128) return ['orders', 400, { error: 'Idempotency-Key required', field: 'Idempotency-Key' }];
      let input;
      try { input = JSON.parse(body); } catch (e) { return ['orders', 400, { error: 'invalid JSON' }]; }
      const hash = crypto.createHash('sha256').update(body).digest('hex');
      const prior = byKey.get(`${sid}|${key}`);
      if (prior && !faults.brokenIdempotency) {
        if (prior.hash !== hash) return ['orders', 422, { error: 'idempotency key reused with a different body' }];
        return ['orders', 200, prior.order];
      }
      const o = {
        order_id: crypto.randomUUID(),
        session_id: sid,
        symbol: input.symbol,
        side: input.side,
        quantity: input.quantity,
        limit_price: input.limit_price,
        status: 'accepted',
        synthetic: input.synthetic === true,
        idempotency_key: key,
        created_at: new Date().toISOString(),
      };
      orders.set(o.order_id, o);
      if (!prior) byKey.set(`${sid}|${key}`, { order: o, hash });
      // With brokenIdempotency a replay gets a fresh order and 200, like a buggy dedupe.
      return ['orders', prior ? 200 : 201, o];
    }
    const m = /^\/orders\/([^/]+)$/.exec(path);
    if (req.method === 'GET' && m) {
      const o = orders.get(decodeURIComponent(m[1]));
      return o ? ['order', 200, o] : ['order', 404, { error: 'order not found' }];
    }
    return ['unknown', 404, { error: 'not found' }];
  };

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      requests.push(`${req.method} ${req.url}`);
      userAgents.push(req.headers['user-agent']);
      const [name, status, body] = route(req, Buffer.concat(chunks).toString('utf8'));
      const delay = (faults.delayMs && faults.delayMs[name]) || 0;
      if (delay > 0) {
        const t = setTimeout(() => { if (!res.destroyed) send(res, status, body); }, delay);
        res.on('close', () => clearTimeout(t));
      } else {
        send(res, status, body);
      }
    });
  });

  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    userAgents,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

module.exports = { startContractServer };
