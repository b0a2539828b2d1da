'use strict';

const { test, describe } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const Module = require('node:module');

const canary = require('../apiCanary.js');
const { startContractServer } = require('../testserver/contractServer.js');

const ALL_STEPS = ['token', 'createSession', 'getSession', 'placeOrder', 'replayOrder', 'getOrder'];
const SECRET = 'canary-secret';

/** The auth options for a contract server (fresh token cache unless given). */
function authFor(server, extra = {}) {
  return { tokenUrl: server.tokenUrl, clientId: 'canary', clientSecret: SECRET, ...extra };
}

/** Runs the canary with the node driver against a contract server with the given faults. */
async function runAgainst(faults, opts = {}) {
  const server = await startContractServer(faults);
  const driver = canary.createNodeDriver({ baseUrl: server.url });
  try {
    const result = await canary
      .runApiCanary({ driver, stepTimeoutMs: opts.stepTimeoutMs || 2000, auth: authFor(server), tokenCache: canary.createTokenCache() })
      .then((value) => ({ ok: true, value }), (error) => ({ ok: false, error }));
    return { result, steps: driver.steps, server, requests: server.requests, userAgents: server.userAgents };
  } finally {
    await server.close();
  }
}

/** runApiCanary options for a server (Synthetics-driver tests). */
const runOpts = (server, driver, stepTimeoutMs = 2000) => ({ driver, stepTimeoutMs, auth: authFor(server), tokenCache: canary.createTokenCache() });

const names = (steps) => steps.map((s) => s.name);
const statuses = (steps) => steps.map((s) => `${s.name}:${s.status}`);

describe('runApiCanary with the node driver', () => {
  test('success path runs every step and they all pass', async () => {
    const { result, steps, requests } = await runAgainst({});
    assert.equal(result.ok, true, result.error && result.error.message);
    assert.deepEqual(names(steps), ALL_STEPS);
    assert.ok(steps.every((s) => s.status === 'passed'));
    assert.match(result.value.orderId, /^[0-9a-f-]{36}$/);
    assert.match(result.value.idempotencyKey, /^canary-\d+-[0-9a-f-]{36}$/);
    assert.ok(result.value.idempotencyKey.length <= 128);
    assert.equal(result.value.traderId, 'canary', 'the trader is the token\'s client id');
    assert.deepEqual(requests, [
      'POST /oauth2/token',
      'POST /sessions',
      'GET /sessions/current',
      'POST /orders',
      'POST /orders',
      `GET /orders/${result.value.orderId}`,
    ]);
  });

  test('the health paths are never requested: behind the public listener they answer 404', async () => {
    const { result, requests } = await runAgainst({ edge: true });
    assert.equal(result.ok, true, result.error && result.error.message);
    assert.deepEqual(requests.filter((r) => /^GET \/(healthz|readyz)/.test(r)), []);
  });

  test('a response slower than the step timeout fails that step with a timeout', async () => {
    const started = Date.now();
    const { result, steps } = await runAgainst({ delayMs: { sessions: 1500 } }, { stepTimeoutMs: 200 });
    const elapsed = Date.now() - started;
    assert.equal(result.ok, false);
    assert.ok(result.error instanceof canary.StepTimeoutError, `got ${result.error}`);
    assert.equal(result.error.stepName, 'createSession');
    assert.match(result.error.message, /timed out after 200 ms/);
    assert.deepEqual(statuses(steps), ['token:passed', 'createSession:failed']);
    assert.ok(steps[1].durationMs < 1000, `createSession step took ${steps[1].durationMs} ms`);
    assert.ok(elapsed < 1500, `run took ${elapsed} ms; the timeout did not cut the step short`);
  });

  test('the step timeout also covers a slow business step', async () => {
    const { result, steps } = await runAgainst({ delayMs: { orders: 1500 } }, { stepTimeoutMs: 200 });
    assert.equal(result.ok, false);
    assert.ok(result.error instanceof canary.StepTimeoutError);
    assert.deepEqual(statuses(steps), ['token:passed', 'createSession:passed', 'getSession:passed', 'placeOrder:failed']);
  });

  test('broken idempotency (different order_id on retry) fails the replayOrder step', async () => {
    const { result, steps } = await runAgainst({ brokenIdempotency: true });
    assert.equal(result.ok, false);
    assert.equal(result.error.stepName, 'replayOrder');
    assert.match(result.error.message, /idempotency broken/);
    assert.deepEqual(statuses(steps), [
      'token:passed',
      'createSession:passed',
      'getSession:passed',
      'placeOrder:passed',
      'replayOrder:failed',
    ]);
  });

  test('a halt (409 trading_halted) is final: one order attempt, no replay, the run passes reporting the halt', async () => {
    const { result, steps, requests } = await runAgainst({ halted: true });
    assert.equal(result.ok, true, result.error && result.error.message);
    assert.equal(result.value.halted, true);
    assert.equal(result.value.orderId, undefined);
    assert.deepEqual(statuses(steps), ['token:passed', 'createSession:passed', 'getSession:passed', 'placeOrder:passed']);
    assert.equal(requests.filter((r) => r === 'POST /orders').length, 1, 'the halted order is not resubmitted');
    assert.ok(!requests.some((r) => r.startsWith('GET /orders')), 'nothing to read back');
  });

  test('an unreachable target fails the first step', async () => {
    const server = await startContractServer({});
    const url = server.url;
    await server.close();
    const driver = canary.createNodeDriver({ baseUrl: url });
    await assert.rejects(canary.runApiCanary(runOpts(server, driver, 1000)), /ECONNREFUSED/);
    assert.deepEqual(statuses(driver.steps), ['token:failed']);
  });

  test('a path prefix in TARGET_URL is kept', async () => {
    const server = await startContractServer({});
    try {
      const driver = canary.createNodeDriver({ baseUrl: `${server.url}/prefix/` });
      await assert.rejects(canary.runApiCanary(runOpts(server, driver, 1000)), /expected HTTP 201, got 404/);
      assert.deepEqual(server.requests, ['POST /oauth2/token', 'POST /prefix/sessions']);
    } finally {
      await server.close();
    }
  });
});

/**
 * A stand-in for the runtime's executeHttpStep: performs the request with node
 * http, hands the IncomingMessage to the callback, and records the step. Like
 * the runtime, a failed callback only throws when continueOnHttpStepFailure is false.
 */
function fakeSynthetics() {
  const steps = [];
  const configs = [];
  return {
    steps,
    configs,
    getConfiguration: () => ({ setConfig: (c) => configs.push(c) }),
    executeHttpStep(stepName, requestOptions, callback, stepConfig) {
      return new Promise((resolve, reject) => {
        const { body, ...options } = requestOptions;
        const req = http.request(options, (res) => {
          Promise.resolve(callback(res)).then(
            (value) => {
              steps.push({ name: stepName, status: 'passed' });
              resolve(value);
            },
            (err) => {
              steps.push({ name: stepName, status: 'failed', error: String(err && err.message) });
              if (stepConfig && stepConfig.continueOnHttpStepFailure === false) reject(err);
              else resolve();
            },
          );
        });
        req.on('error', (err) => {
          steps.push({ name: stepName, status: 'failed', error: err.message });
          reject(err);
        });
        if (body !== undefined) req.write(body);
        req.end();
      });
    },
  };
}

describe('createSyntheticsDriver (executeHttpStep adapter)', () => {
  test('success path: one executeHttpStep per step, all passed', async () => {
    const server = await startContractServer({});
    try {
      const synthetics = fakeSynthetics();
      const driver = canary.createSyntheticsDriver(synthetics, { baseUrl: canary.parseTarget(server.url) });
      const out = await canary.runApiCanary(runOpts(server, driver));
      assert.deepEqual(names(synthetics.steps), ALL_STEPS);
      assert.ok(synthetics.steps.every((s) => s.status === 'passed'));
      assert.match(out.orderId, /^[0-9a-f-]{36}$/);
    } finally {
      await server.close();
    }
  });

  test('slow response fails the step with a timeout', async () => {
    const server = await startContractServer({ delayMs: { sessions: 1500 } });
    try {
      const synthetics = fakeSynthetics();
      const driver = canary.createSyntheticsDriver(synthetics, { baseUrl: canary.parseTarget(server.url) });
      await assert.rejects(canary.runApiCanary(runOpts(server, driver, 200)), canary.StepTimeoutError);
    } finally {
      await server.close();
    }
  });

  test('even if the runtime swallows a step failure, the driver still fails the run', async () => {
    const server = await startContractServer({ brokenIdempotency: true });
    try {
      const synthetics = fakeSynthetics();
      const swallowing = {
        executeHttpStep: (n, o, cb) => synthetics.executeHttpStep(n, o, cb, { continueOnHttpStepFailure: true }),
      };
      const driver = canary.createSyntheticsDriver(swallowing, { baseUrl: canary.parseTarget(server.url) });
      await assert.rejects(canary.runApiCanary(runOpts(server, driver)), /idempotency broken/);
      assert.equal(synthetics.steps.at(-1).name, 'replayOrder');
    } finally {
      await server.close();
    }
  });
});

describe('handler', () => {
  test('loads @aws/synthetics-puppeteer lazily and runs the steps from env config', async () => {
    const server = await startContractServer({});
    const synthetics = fakeSynthetics();
    const originalLoad = Module._load;
    const requested = [];
    Module._load = function load(request, ...rest) {
      if (request === '@aws/synthetics-puppeteer') {
        requested.push(request);
        return synthetics;
      }
      return originalLoad.call(this, request, ...rest);
    };
    const saved = { ...process.env };
    process.env.TARGET_URL = server.url;
    process.env.TOKEN_URL = server.tokenUrl;
    process.env.CLIENT_ID = 'canary';
    process.env.CLIENT_SECRET_PARAMETER = '/trading/dev/probes/canary/client-secret';
    process.env.LOCAL_CLIENT_SECRET = 'must-not-be-used';
    process.env.STEP_TIMEOUT_MS = '2000';
    const read = [];
    const secretSource = { getSecret: async (name) => { read.push(name); return SECRET; } };
    try {
      const out = await canary.handler({ secretSource, tokenCache: canary.createTokenCache() });
      assert.deepEqual(requested, ['@aws/synthetics-puppeteer']);
      assert.deepEqual(names(synthetics.steps), ALL_STEPS);
      assert.deepEqual(read, ['/trading/dev/probes/canary/client-secret'], 'the handler reads the parameter, never LOCAL_CLIENT_SECRET');
      assert.equal(synthetics.configs.length, 1);
      assert.equal(synthetics.configs[0].includeResponseBody, false);
      assert.equal(synthetics.configs[0].includeRequestBody, false);
      assert.ok(synthetics.configs[0].restrictedHeaders.includes('Authorization'), 'bearer and Basic credentials are redacted in artifacts');
      assert.ok(out.orderId);
      assert.equal(out.traderId, 'canary');
    } finally {
      Module._load = originalLoad;
      process.env = saved;
      await server.close();
    }
  });

  test('requiring the script does not need the AWS-only module', () => {
    assert.equal(typeof canary.handler, 'function');
    assert.throws(() => require.resolve('@aws/synthetics-puppeteer'), /Cannot find module/);
  });
});

describe('configFromEnv', () => {
  const AUTH_ENV = {
    TOKEN_URL: 'https://trading-dev.auth.us-east-1.amazoncognito.com/oauth2/token',
    CLIENT_ID: '4k2jexampleclient',
    CLIENT_SECRET_PARAMETER: '/trading/dev/probes/canary/client-secret',
  };

  test('requires TARGET_URL, TOKEN_URL, CLIENT_ID and CLIENT_SECRET_PARAMETER', () => {
    assert.throws(() => canary.configFromEnv({ ...AUTH_ENV }), /TARGET_URL is required/);
    for (const name of Object.keys(AUTH_ENV)) {
      const env = { TARGET_URL: 'https://x', ...AUTH_ENV };
      delete env[name];
      assert.throws(() => canary.configFromEnv(env), new RegExp(`${name} is required`));
    }
  });

  test('a bare host name (ALB DNS name) defaults to https; SCOPE defaults to trading/probe', () => {
    const c = canary.configFromEnv({ TARGET_URL: 'alb-dev-123.us-east-1.elb.amazonaws.com', ...AUTH_ENV });
    assert.equal(c.baseUrl.href, 'https://alb-dev-123.us-east-1.elb.amazonaws.com/');
    assert.equal(c.tokenUrl.href, AUTH_ENV.TOKEN_URL);
    assert.equal(c.clientId, AUTH_ENV.CLIENT_ID);
    assert.equal(c.clientSecretParameter, AUTH_ENV.CLIENT_SECRET_PARAMETER);
    assert.equal(c.scope, 'trading/probe');
    assert.equal(c.stepTimeoutMs, canary.DEFAULT_STEP_TIMEOUT_MS);
    assert.equal(c.tlsInsecure, false);
    assert.equal(c.localClientSecret, undefined);
  });

  test('reads the optional settings', () => {
    const c = canary.configFromEnv({
      TARGET_URL: 'http://127.0.0.1:8080',
      ...AUTH_ENV,
      SCOPE: 'trading/other',
      STEP_TIMEOUT_MS: '750',
      TLS_INSECURE: 'true',
    });
    assert.equal(c.scope, 'trading/other');
    assert.equal(c.stepTimeoutMs, 750);
    assert.equal(c.tlsInsecure, true);
  });

  test('LOCAL_CLIENT_SECRET counts only for local runs', () => {
    const env = { TARGET_URL: 'http://127.0.0.1:8080', TOKEN_URL: AUTH_ENV.TOKEN_URL, CLIENT_ID: 'canary', LOCAL_CLIENT_SECRET: 's3' };
    assert.throws(() => canary.configFromEnv(env), /CLIENT_SECRET_PARAMETER is required/);
    assert.equal(canary.configFromEnv(env, { local: true }).localClientSecret, 's3');
  });

  test('rejects bad values', () => {
    assert.throws(() => canary.configFromEnv({ TARGET_URL: 'ftp://x', ...AUTH_ENV }), /http or https/);
    assert.throws(() => canary.configFromEnv({ TARGET_URL: 'https://x', ...AUTH_ENV, TOKEN_URL: 'not a url' }), /TOKEN_URL is not a valid URL/);
    assert.throws(() => canary.configFromEnv({ TARGET_URL: 'https://x', ...AUTH_ENV, STEP_TIMEOUT_MS: 'soon' }), /STEP_TIMEOUT_MS/);
  });
});

describe('User-Agent (AWS WAF core rule set NoUserAgent_HEADER blocks requests without one)', () => {
  test('the version in the User-Agent is the package version', () => {
    const pkg = require('../package.json');
    assert.equal(canary.CANARY_VERSION, pkg.version);
    assert.equal(canary.USER_AGENT, `trading-ha-canary/${pkg.version}`);
  });

  test('node driver: every request reaching the server carries the User-Agent', async () => {
    const { result, requests, userAgents } = await runAgainst({});
    assert.equal(result.ok, true);
    assert.equal(requests.length, ALL_STEPS.length, 'the token request too');
    assert.deepEqual(userAgents, ALL_STEPS.map(() => canary.USER_AGENT));
  });

  test('Synthetics driver: every executeHttpStep request carries the User-Agent', async () => {
    const server = await startContractServer({});
    try {
      const driver = canary.createSyntheticsDriver(fakeSynthetics(), { baseUrl: canary.parseTarget(server.url) });
      await canary.runApiCanary(runOpts(server, driver));
      assert.equal(server.userAgents.length, ALL_STEPS.length);
      assert.ok(server.userAgents.every((ua) => ua === canary.USER_AGENT), String(server.userAgents));
    } finally {
      await server.close();
    }
  });

  test('a caller header of any case cannot drop or duplicate it', async () => {
    const server = await startContractServer({});
    try {
      const driver = canary.createNodeDriver({ baseUrl: server.url });
      await driver.httpStep('probe', { method: 'GET', path: '/sessions/current', headers: { 'user-agent': '' }, timeoutMs: 2000 }, () => {});
      assert.deepEqual(server.userAgents, [canary.USER_AGENT]);
    } finally {
      await server.close();
    }
  });

  test('the order stays marked synthetic', async () => {
    const server = await startContractServer({});
    const bodies = [];
    const driver = canary.createNodeDriver({ baseUrl: server.url });
    const wrapped = {
      steps: driver.steps,
      httpStep: (name, req, validate) => {
        if (req.path === '/orders') bodies.push(JSON.parse(req.body));
        return driver.httpStep(name, req, validate);
      },
    };
    try {
      await canary.runApiCanary(runOpts(server, wrapped));
    } finally {
      await server.close();
    }
    assert.equal(bodies.length, 2);
    assert.ok(bodies.every((b) => b.synthetic === true));
  });
});

describe('authentication (Cognito client credentials)', () => {
  test('a token is fetched with HTTP Basic client credentials and sent as Bearer on session and order calls only', async () => {
    const { result, server } = await runAgainst({});
    assert.equal(result.ok, true, result.error && result.error.message);
    assert.deepEqual(server.tokenRequests, [{ clientId: 'canary', grantType: 'client_credentials', scope: 'trading/probe' }]);
    const basic = `Basic ${Buffer.from(`canary:${SECRET}`).toString('base64')}`;
    const byRequest = server.requests.map((r, i) => [r, server.authorizations[i]]);
    assert.deepEqual(byRequest.slice(0, 1), [['POST /oauth2/token', basic]]);
    const bearers = byRequest.slice(1).map(([, a]) => a);
    assert.equal(bearers.length, 5);
    assert.match(bearers[0], /^Bearer tok-/);
    assert.ok(bearers.every((a) => a === bearers[0]), 'one token for every call');
  });

  test('POST /sessions has an empty body; the trader is the token\'s (OIDC_TRADER_MAP name)', async () => {
    const { result, steps } = await runAgainst({ traderMap: { canary: 'SYNTHETIC-CANARY' } });
    assert.equal(result.ok, true, result.error && result.error.message);
    assert.equal(result.value.traderId, 'SYNTHETIC-CANARY');
    assert.deepEqual(names(steps), ALL_STEPS);
  });

  test('a 401 from the service fails the run saying the token was refused', async () => {
    const { result, steps, server } = await runAgainst({ rejectTokens: true });
    assert.equal(result.ok, false);
    assert.ok(result.error instanceof canary.UnauthorizedError, `got ${result.error}`);
    assert.equal(result.error.stepName, 'createSession');
    assert.match(result.error.message, /the service refused the access token: HTTP 401 \(code: unauthorized\), WWW-Authenticate: Bearer realm="trading", error="invalid_token"/);
    assert.match(result.error.message, /CLIENT_ID canary/);
    assert.deepEqual(statuses(steps), ['token:passed', 'createSession:failed']);
    assert.ok(!server.requests.includes('POST /orders'), 'no order without a session');
  });

  test('a refused token is forgotten: the next run fetches a new one', async () => {
    const server = await startContractServer({ rejectTokens: true });
    const tokenCache = canary.createTokenCache();
    try {
      const driver = canary.createNodeDriver({ baseUrl: server.url });
      await assert.rejects(canary.runApiCanary({ driver, auth: authFor(server), tokenCache, stepTimeoutMs: 2000 }), canary.UnauthorizedError);
      await assert.rejects(canary.runApiCanary({ driver, auth: authFor(server), tokenCache, stepTimeoutMs: 2000 }), canary.UnauthorizedError);
      assert.equal(server.tokenRequests.length, 2);
    } finally {
      await server.close();
    }
  });

  test('wrong client credentials fail the token step naming the client and the OAuth error', async () => {
    const server = await startContractServer({});
    try {
      const driver = canary.createNodeDriver({ baseUrl: server.url });
      await assert.rejects(
        canary.runApiCanary({ driver, auth: authFor(server, { clientSecret: 'wrong' }), tokenCache: canary.createTokenCache(), stepTimeoutMs: 2000 }),
        /step token failed: the token endpoint refused the client credentials of CLIENT_ID canary for scope trading\/probe: HTTP 401 \(error: invalid_client\)/,
      );
      assert.deepEqual(statuses(driver.steps), ['token:failed']);
    } finally {
      await server.close();
    }
  });

  test('token caching: one token request for a run\'s calls, none for the next run, a new one near expiry', async () => {
    const server = await startContractServer({ expiresIn: 3600 });
    let clock = 1_000_000;
    const tokenCache = canary.createTokenCache(() => clock);
    try {
      const run = async () => {
        const driver = canary.createNodeDriver({ baseUrl: server.url });
        const out = await canary.runApiCanary({ driver, auth: authFor(server), tokenCache, stepTimeoutMs: 2000 });
        return { out, steps: names(driver.steps) };
      };
      const first = await run();
      assert.equal(first.out.tokenRequests, 1);
      assert.equal(server.tokenRequests.length, 1, 'five authenticated calls, one token request');
      const second = await run();
      assert.equal(second.out.tokenRequests, 0);
      assert.deepEqual(second.steps, ALL_STEPS.filter((s) => s !== 'token'));
      clock += 3600 * 1000 - canary.TOKEN_REFRESH_MARGIN_MS; // within the refresh margin of expiry
      const third = await run();
      assert.equal(third.out.tokenRequests, 1);
      assert.equal(server.tokenRequests.length, 2);
    } finally {
      await server.close();
    }
  });

  test('a token for another secret is not reused (secret rotation)', async () => {
    const server = await startContractServer({ clients: { canary: 'old' } });
    const tokenCache = canary.createTokenCache();
    try {
      const driver = canary.createNodeDriver({ baseUrl: server.url });
      await canary.runApiCanary({ driver, auth: authFor(server, { clientSecret: 'old' }), tokenCache, stepTimeoutMs: 2000 });
      await assert.rejects(
        canary.runApiCanary({ driver, auth: authFor(server, { clientSecret: 'new' }), tokenCache, stepTimeoutMs: 2000 }),
        /invalid_client/,
      );
    } finally {
      await server.close();
    }
  });

  test('an order carrying session_id fails (the contract never returns it)', async () => {
    const { result } = await runAgainst({ leakSessionId: true });
    assert.equal(result.ok, false);
    assert.equal(result.error.stepName, 'placeOrder');
    assert.match(result.error.message, /carries session_id/);
  });
});

describe('client secret from the SSM parameter', () => {
  const envFor = (server) => ({
    TARGET_URL: server.url,
    TOKEN_URL: server.tokenUrl,
    CLIENT_ID: 'canary',
    CLIENT_SECRET_PARAMETER: '/trading/dev/probes/canary/client-secret',
    STEP_TIMEOUT_MS: '2000',
  });

  test('runFromEnv reads the secret from the parameter source at the start of each run', async () => {
    const server = await startContractServer({});
    const read = [];
    const secretSource = { getSecret: async (name) => { read.push({ name, requestsSoFar: server.requests.length }); return SECRET; } };
    const tokenCache = canary.createTokenCache();
    try {
      const createDriver = (config) => canary.createNodeDriver({ baseUrl: config.baseUrl });
      const out = await canary.runFromEnv(envFor(server), { secretSource, tokenCache, createDriver });
      assert.deepEqual(names(out.driver.steps), ALL_STEPS);
      await canary.runFromEnv(envFor(server), { secretSource, tokenCache, createDriver });
      assert.deepEqual(read.map((r) => r.name), ['/trading/dev/probes/canary/client-secret', '/trading/dev/probes/canary/client-secret']);
      assert.equal(read[0].requestsSoFar, 0, 'read before any request');
      assert.equal(server.tokenRequests.length, 1, 'the token is still cached for the second run');
    } finally {
      await server.close();
    }
  });

  test('a failing parameter read fails the run before any request', async () => {
    const server = await startContractServer({});
    try {
      const secretSource = { getSecret: async () => { throw new Error('reading the client secret from SSM parameter /x failed: AccessDeniedException: no'); } };
      await assert.rejects(
        canary.runFromEnv(envFor(server), { secretSource, createDriver: (c) => canary.createNodeDriver({ baseUrl: c.baseUrl }) }),
        /AccessDeniedException/,
      );
      assert.deepEqual(server.requests, []);
    } finally {
      await server.close();
    }
  });

  test('createSsmSecretSource sends GetParameter WithDecryption and returns the value', async () => {
    const sent = [];
    const sdk = {
      SSMClient: class { constructor(cfg) { this.cfg = cfg; } async send(cmd) { sent.push(cmd.input); return { Parameter: { Name: cmd.input.Name, Type: 'SecureString', Value: 's3cr3t' } }; } },
      GetParameterCommand: class { constructor(input) { this.input = input; } },
    };
    const source = canary.createSsmSecretSource(sdk);
    assert.equal(await source.getSecret('/trading/dev/probes/canary/client-secret'), 's3cr3t');
    assert.deepEqual(sent, [{ Name: '/trading/dev/probes/canary/client-secret', WithDecryption: true }]);
  });

  test('createSsmSecretSource names the parameter and the SDK error', async () => {
    const sdk = {
      SSMClient: class { async send() { const e = new Error('User is not authorized to perform: ssm:GetParameter'); e.name = 'AccessDeniedException'; throw e; } },
      GetParameterCommand: class { constructor(input) { this.input = input; } },
    };
    await assert.rejects(canary.createSsmSecretSource(sdk).getSecret('/p'), /SSM parameter \/p failed: AccessDeniedException: User is not authorized/);
  });
});
