'use strict';

const { test, describe } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const Module = require('node:module');

const canary = require('../apiCanary.js');
const { startContractServer } = require('../testserver/contractServer.js');

const ALL_STEPS = ['healthz', 'readyz', 'createSession', 'placeOrder', 'replayOrder', 'getOrder'];

/** Runs the canary with the node driver against a contract server with the given faults. */
async function runAgainst(faults, opts = {}) {
  const server = await startContractServer(faults);
  const driver = canary.createNodeDriver({ baseUrl: server.url });
  try {
    const result = await canary
      .runApiCanary({ driver, stepTimeoutMs: opts.stepTimeoutMs || 2000, traderId: 'T-SYN' })
      .then((value) => ({ ok: true, value }), (error) => ({ ok: false, error }));
    return { result, steps: driver.steps, requests: server.requests, userAgents: server.userAgents };
  } finally {
    await server.close();
  }
}

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
    assert.deepEqual(requests, [
      'GET /healthz',
      'GET /readyz',
      'POST /sessions',
      'POST /orders',
      'POST /orders',
      `GET /orders/${result.value.orderId}`,
    ]);
  });

  test('failing readiness (503, failing ["database"]) fails the readyz step naming database', async () => {
    const { result, steps, requests } = await runAgainst({ failing: ['database'] });
    assert.equal(result.ok, false);
    assert.ok(result.error instanceof canary.StepAssertionError);
    assert.equal(result.error.stepName, 'readyz');
    assert.match(result.error.message, /HTTP 503/);
    assert.match(result.error.message, /failing dependencies: database/);
    assert.deepEqual(statuses(steps), ['healthz:passed', 'readyz:failed']);
    assert.match(steps[1].error, /database/);
    assert.deepEqual(requests, ['GET /healthz', 'GET /readyz'], 'no business traffic after a failed readiness check');
  });

  test('a response slower than the step timeout fails that step with a timeout', async () => {
    const started = Date.now();
    const { result, steps } = await runAgainst({ delayMs: { readyz: 1500 } }, { stepTimeoutMs: 200 });
    const elapsed = Date.now() - started;
    assert.equal(result.ok, false);
    assert.ok(result.error instanceof canary.StepTimeoutError, `got ${result.error}`);
    assert.equal(result.error.stepName, 'readyz');
    assert.match(result.error.message, /timed out after 200 ms/);
    assert.deepEqual(statuses(steps), ['healthz:passed', 'readyz:failed']);
    assert.ok(steps[1].durationMs < 1000, `readyz step took ${steps[1].durationMs} ms`);
    assert.ok(elapsed < 1500, `run took ${elapsed} ms; the timeout did not cut the step short`);
  });

  test('the step timeout also covers a slow business step', async () => {
    const { result, steps } = await runAgainst({ delayMs: { orders: 1500 } }, { stepTimeoutMs: 200 });
    assert.equal(result.ok, false);
    assert.ok(result.error instanceof canary.StepTimeoutError);
    assert.deepEqual(statuses(steps), ['healthz:passed', 'readyz:passed', 'createSession:passed', 'placeOrder:failed']);
  });

  test('broken idempotency (different order_id on retry) fails the replayOrder step', async () => {
    const { result, steps } = await runAgainst({ brokenIdempotency: true });
    assert.equal(result.ok, false);
    assert.equal(result.error.stepName, 'replayOrder');
    assert.match(result.error.message, /idempotency broken/);
    assert.deepEqual(statuses(steps), [
      'healthz:passed',
      'readyz:passed',
      'createSession:passed',
      'placeOrder:passed',
      'replayOrder:failed',
    ]);
  });

  test('an unreachable target fails the first step', async () => {
    const server = await startContractServer({});
    const url = server.url;
    await server.close();
    const driver = canary.createNodeDriver({ baseUrl: url });
    await assert.rejects(canary.runApiCanary({ driver, stepTimeoutMs: 1000 }), /ECONNREFUSED/);
    assert.deepEqual(statuses(driver.steps), ['healthz:failed']);
  });

  test('a path prefix in TARGET_URL is kept', async () => {
    const server = await startContractServer({});
    try {
      const driver = canary.createNodeDriver({ baseUrl: `${server.url}/prefix/` });
      await assert.rejects(canary.runApiCanary({ driver, stepTimeoutMs: 1000 }), /expected HTTP 200, got 404/);
      assert.deepEqual(server.requests, ['GET /prefix/healthz']);
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
      const out = await canary.runApiCanary({ driver, stepTimeoutMs: 2000 });
      assert.deepEqual(names(synthetics.steps), ALL_STEPS);
      assert.ok(synthetics.steps.every((s) => s.status === 'passed'));
      assert.match(out.orderId, /^[0-9a-f-]{36}$/);
    } finally {
      await server.close();
    }
  });

  test('failing readiness fails the run naming database', async () => {
    const server = await startContractServer({ failing: ['database', 'sessions'] });
    try {
      const synthetics = fakeSynthetics();
      const driver = canary.createSyntheticsDriver(synthetics, { baseUrl: canary.parseTarget(server.url) });
      await assert.rejects(canary.runApiCanary({ driver, stepTimeoutMs: 2000 }), /failing dependencies: database, sessions/);
      assert.deepEqual(statuses(synthetics.steps), ['healthz:passed', 'readyz:failed']);
    } finally {
      await server.close();
    }
  });

  test('slow response fails the step with a timeout', async () => {
    const server = await startContractServer({ delayMs: { healthz: 1500 } });
    try {
      const synthetics = fakeSynthetics();
      const driver = canary.createSyntheticsDriver(synthetics, { baseUrl: canary.parseTarget(server.url) });
      await assert.rejects(canary.runApiCanary({ driver, stepTimeoutMs: 200 }), canary.StepTimeoutError);
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
      await assert.rejects(canary.runApiCanary({ driver, stepTimeoutMs: 2000 }), /idempotency broken/);
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
    process.env.SYNTHETIC_TRADER_ID = 'T-HANDLER';
    process.env.STEP_TIMEOUT_MS = '2000';
    try {
      const out = await canary.handler();
      assert.deepEqual(requested, ['@aws/synthetics-puppeteer']);
      assert.deepEqual(names(synthetics.steps), ALL_STEPS);
      assert.equal(synthetics.configs.length, 1);
      assert.equal(synthetics.configs[0].includeResponseBody, false);
      assert.ok(out.orderId);
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
  test('requires TARGET_URL', () => {
    assert.throws(() => canary.configFromEnv({}), /TARGET_URL is required/);
  });

  test('a bare host name (ALB DNS name) defaults to https', () => {
    const c = canary.configFromEnv({ TARGET_URL: 'alb-dev-123.us-east-1.elb.amazonaws.com' });
    assert.equal(c.baseUrl.href, 'https://alb-dev-123.us-east-1.elb.amazonaws.com/');
    assert.equal(c.traderId, canary.DEFAULT_TRADER_ID);
    assert.equal(c.stepTimeoutMs, canary.DEFAULT_STEP_TIMEOUT_MS);
    assert.equal(c.tlsInsecure, false);
  });

  test('reads the optional settings', () => {
    const c = canary.configFromEnv({
      TARGET_URL: 'http://127.0.0.1:8080',
      SYNTHETIC_TRADER_ID: 'T-9',
      STEP_TIMEOUT_MS: '750',
      TLS_INSECURE: 'true',
    });
    assert.equal(c.traderId, 'T-9');
    assert.equal(c.stepTimeoutMs, 750);
    assert.equal(c.tlsInsecure, true);
  });

  test('rejects bad values', () => {
    assert.throws(() => canary.configFromEnv({ TARGET_URL: 'ftp://x' }), /http or https/);
    assert.throws(() => canary.configFromEnv({ TARGET_URL: 'https://x', STEP_TIMEOUT_MS: 'soon' }), /STEP_TIMEOUT_MS/);
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
    assert.equal(requests.length, ALL_STEPS.length);
    assert.deepEqual(userAgents, ALL_STEPS.map(() => canary.USER_AGENT));
  });

  test('Synthetics driver: every executeHttpStep request carries the User-Agent', async () => {
    const server = await startContractServer({});
    try {
      const driver = canary.createSyntheticsDriver(fakeSynthetics(), { baseUrl: canary.parseTarget(server.url) });
      await canary.runApiCanary({ driver, stepTimeoutMs: 2000 });
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
      await driver.httpStep('healthz', { method: 'GET', path: '/healthz', headers: { 'user-agent': '' }, timeoutMs: 2000 }, () => {});
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
      await canary.runApiCanary({ driver: wrapped, stepTimeoutMs: 2000 });
    } finally {
      await server.close();
    }
    assert.equal(bodies.length, 2);
    assert.ok(bodies.every((b) => b.synthetic === true));
  });
});
