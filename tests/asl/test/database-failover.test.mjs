import '../lib/polyfill.mjs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadDefinition, run, awsError, retriesOf, entered } from '../lib/harness.mjs';

const def = loadDefinition('database-failover');
const ok = () => ({ MessageId: 'm' });
const healthyTargets = () => ({ TargetHealthDescriptions: [{ Target: { Id: '10.0.1.10' }, TargetHealth: { State: 'healthy' } }] });
const members = (writer, ...readers) => [
  { DbInstanceIdentifier: writer, IsClusterWriter: true },
  ...readers.map((r) => ({ DbInstanceIdentifier: r, IsClusterWriter: false })),
];
const cluster = (status, m) => ({ DbClusters: [{ Status: status, DbClusterMembers: m }] });
const notifies = ['NotifyDryRun', 'NotifyFailedOver', 'PrecheckFailedNotify', 'ClusterNotReadyNotify', 'NoAvailableReaderNotify',
  'TargetRejectedNotify', 'FailoverFailedNotify', 'FailoverTimedOutNotify', 'FailoverUnverifiedNotify', 'ApplicationUnhealthyNotify'];

// A cluster whose writer is aurora-dev-1; after the failover, `promoted`
// becomes the writer on the `afterPolls`-th poll.
function handlers({ readerStatus = {}, afterPolls = 2 } = {}) {
  let promoted;
  const h = {
    DescribeCluster: () => cluster('available', members('aurora-dev-1', 'aurora-dev-2', 'aurora-dev-3')),
    FoDescribeReader: (req) => ({ DbInstances: [{ DbInstanceIdentifier: req.DbInstanceIdentifier,
      DbInstanceStatus: readerStatus[req.DbInstanceIdentifier] ?? 'available', PromotionTier: 1 }] }),
    FailoverCluster: (req) => { promoted = req.TargetDbInstanceIdentifier; return { DbCluster: { Status: 'failing-over' } }; },
    PollCluster: (_req, n) => (n < afterPolls
      ? cluster('failing-over', members('aurora-dev-1', 'aurora-dev-2', 'aurora-dev-3'))
      : cluster('available', members(promoted, ...['aurora-dev-1', 'aurora-dev-2', 'aurora-dev-3'].filter((i) => i !== promoted)))),
    FoResolveTargetGroups: () => ({ TargetGroups: [{ TargetGroupArn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg-dev-0123abcd/0123456789abcdef' }] }),
    FoDescribeTargetHealth: healthyTargets,
  };
  for (const n of notifies) h[n] = ok;
  return h;
}
const message = (r) => JSON.parse(r.calls.at(-1).input.Message);
const ran = (r, state) => r.states.filter((s) => s === state).length;

test('failover: happy path promotes the first available reader, waits for it to be writer, checks the app, notifies', async () => {
  const r = await run(def, { requestedBy: 'alice' }, handlers());
  assert.equal(r.status, 'SUCCEEDED', r.error?.message);
  assert.deepEqual(r.states, ['DescribeCluster', 'FoDescribeReader', 'FoDescribeReader', 'FailoverCluster',
    'PollCluster', 'PollCluster', 'FoResolveTargetGroups', 'FoDescribeTargetHealth', 'NotifyFailedOver']);
  // The readers are described by identifier, the writer is not.
  assert.deepEqual(r.calls.filter((c) => c.state === 'FoDescribeReader').map((c) => c.input.DbInstanceIdentifier).sort(),
    ['aurora-dev-2', 'aurora-dev-3']);
  // SDK integration parameters use the SDK's PascalCase member names.
  assert.deepEqual(r.calls.find((c) => c.state === 'FailoverCluster').input,
    { DbClusterIdentifier: 'aurora-dev', TargetDbInstanceIdentifier: 'aurora-dev-2' });
  const msg = message(r);
  assert.equal(msg.outcome, 'FAILED_OVER');
  assert.equal(msg.previousWriter, 'aurora-dev-1');
  assert.equal(msg.newWriter, 'aurora-dev-2');
  assert.equal(msg.requestedBy, 'alice');
  assert.equal(msg.polls, 1, 'the first poll saw failing-over and counted once');
});

test('failover: a requested target that is an available reader is promoted', async () => {
  const r = await run(def, { requestedBy: 'alice', targetInstance: 'aurora-dev-3' }, handlers());
  assert.equal(r.status, 'SUCCEEDED', r.error?.message);
  assert.equal(r.calls.find((c) => c.state === 'FailoverCluster').input.TargetDbInstanceIdentifier, 'aurora-dev-3');
  assert.equal(message(r).newWriter, 'aurora-dev-3');
});

for (const [why, target, readerStatus] of [
  ['not an instance of our cluster', 'someone-elses-db', {}],
  ['the current writer', 'aurora-dev-1', {}],
  ['a reader that is not available', 'aurora-dev-3', { 'aurora-dev-3': 'rebooting' }],
]) {
  test(`failover: a requested target that is ${why} is rejected before FailoverDBCluster`, async () => {
    const r = await run(def, { requestedBy: 'alice', targetInstance: target }, handlers({ readerStatus }));
    assert.equal(r.status, 'FAILED');
    assert.equal(r.error.name, 'DatabaseFailover.TargetRejected');
    assert.equal(ran(r, 'FailoverCluster'), 0);
    assert.equal(message(r).outcome, 'TARGET_REJECTED');
    assert.equal(message(r).details.targetInstance, target);
  });
}

test('failover: dry run stops after the pre-checks and reports the chosen target; FailoverDBCluster never runs', async () => {
  const r = await run(def, { requestedBy: 'alice', dryRun: true }, handlers({ readerStatus: { 'aurora-dev-2': 'rebooting' } }));
  assert.equal(r.status, 'SUCCEEDED', r.error?.message);
  assert.deepEqual(r.states, ['DescribeCluster', 'FoDescribeReader', 'FoDescribeReader', 'NotifyDryRun']);
  assert.equal(ran(r, 'FailoverCluster'), 0);
  assert.equal(ran(r, 'PollCluster'), 0);
  const msg = message(r);
  assert.equal(msg.outcome, 'DRY_RUN');
  assert.equal(msg.target, 'aurora-dev-3', 'aurora-dev-2 is rebooting, so the next available reader is chosen');
  assert.equal(msg.writer, 'aurora-dev-1');
  assert.ok(entered(r).includes('DryRunComplete'));
});

test('failover: dryRun false runs the failover', async () => {
  const r = await run(def, { requestedBy: 'alice', dryRun: false }, handlers());
  assert.equal(r.status, 'SUCCEEDED', r.error?.message);
  assert.equal(ran(r, 'FailoverCluster'), 1);
});

test('failover: transient throttling of DescribeDBClusters and FailoverDBCluster is retried, then succeeds', async () => {
  const h = handlers();
  const describe = h.DescribeCluster;
  const failover = h.FailoverCluster;
  h.DescribeCluster = (req, n) => { if (n <= 2) throw awsError('Rds.ThrottlingException', 'Rate exceeded'); return describe(req); };
  h.FailoverCluster = (req, n) => { if (n === 1) throw awsError('Rds.ThrottlingException', 'Rate exceeded'); return failover(req); };
  const r = await run(def, { requestedBy: 'alice' }, h);
  assert.equal(r.status, 'SUCCEEDED', r.error?.message);
  assert.equal(retriesOf(r, 'DescribeCluster'), 2);
  assert.equal(retriesOf(r, 'FailoverCluster'), 1);
  assert.equal(message(r).outcome, 'FAILED_OVER');
});

test('failover: a refused FailoverDBCluster is not retried; it is caught, reported and fails', async () => {
  const h = handlers();
  h.FailoverCluster = () => { throw awsError('Rds.InvalidDbClusterStateException', 'cluster is not available'); };
  const r = await run(def, { requestedBy: 'alice' }, h);
  assert.equal(r.status, 'FAILED');
  assert.equal(r.error.name, 'DatabaseFailover.FailoverFailed');
  assert.equal(ran(r, 'FailoverCluster'), 1, 'a non-throttling error must not request a second failover');
  assert.equal(ran(r, 'PollCluster'), 0);
  const msg = message(r);
  assert.equal(msg.outcome, 'FAILOVER_FAILED');
  assert.equal(msg.details.error.Error, 'Rds.InvalidDbClusterStateException');
});

test('failover: persistent DescribeDBClusters errors are caught after the retries and reported as a pre-check failure', async () => {
  const h = handlers();
  h.DescribeCluster = () => { throw awsError('Rds.RdsException', 'internal error'); };
  const r = await run(def, { requestedBy: 'alice' }, h);
  assert.equal(r.status, 'FAILED');
  assert.equal(r.error.name, 'DatabaseFailover.PrecheckFailed');
  assert.equal(ran(r, 'DescribeCluster'), 5, 'one call and four retries');
  assert.equal(ran(r, 'FailoverCluster'), 0);
});

test('failover: the poll is bounded: a cluster that never elects the target times out, notifies and fails', async () => {
  const r = await run(def, { requestedBy: 'alice' }, handlers({ afterPolls: Infinity }));
  assert.equal(r.status, 'FAILED');
  assert.equal(r.error.name, 'DatabaseFailover.TimedOut');
  // 600 s timeout / 10 s interval = 60 polls.
  assert.equal(ran(r, 'PollCluster'), 60);
  assert.equal(ran(r, 'FoDescribeTargetHealth'), 0);
  assert.match(message(r).reason, /within 600 seconds/);
});

test('failover: a cluster that is not available, or has no reader, is refused', async () => {
  for (const c of [cluster('modifying', members('aurora-dev-1', 'aurora-dev-2')), cluster('available', members('aurora-dev-1'))]) {
    const h = handlers();
    h.DescribeCluster = () => c;
    const r = await run(def, { requestedBy: 'alice' }, h);
    assert.equal(r.status, 'FAILED');
    assert.equal(r.error.name, 'DatabaseFailover.ClusterNotReady');
    assert.deepEqual(r.states, ['DescribeCluster', 'ClusterNotReadyNotify']);
  }
});

test('failover: readers that cannot be described or are not available leave no candidate', async () => {
  const h = handlers({ readerStatus: { 'aurora-dev-3': 'stopped' } });
  const describe = h.FoDescribeReader;
  h.FoDescribeReader = (req) => {
    if (req.DbInstanceIdentifier === 'aurora-dev-2') throw awsError('Rds.DbInstanceNotFoundException', 'gone');
    return describe(req);
  };
  const r = await run(def, { requestedBy: 'alice' }, h);
  assert.equal(r.status, 'FAILED');
  assert.equal(r.error.name, 'DatabaseFailover.NoAvailableReader');
  assert.equal(ran(r, 'FailoverCluster'), 0);
  const readers = message(r).details.readers;
  assert.deepEqual(readers.map((x) => [x.instance, x.available, x.status]).sort(),
    [['aurora-dev-2', false, 'unknown'], ['aurora-dev-3', false, 'stopped']]);
});

test('failover: unhealthy targets after the failover are reported as a failure', async () => {
  const h = handlers();
  h.FoDescribeTargetHealth = () => ({ TargetHealthDescriptions: [{ Target: { Id: 'a' }, TargetHealth: { State: 'unhealthy' } }] });
  const r = await run(def, { requestedBy: 'alice' }, h);
  assert.equal(r.status, 'FAILED');
  assert.equal(r.error.name, 'DatabaseFailover.ApplicationUnhealthy');
  assert.equal(ran(r, 'FailoverCluster'), 1);
});

test('failover: invalid input fails before any API call', async () => {
  for (const input of [{}, { requestedBy: '' }, { requestedBy: 'a', dryRun: 'yes' }, { requestedBy: 'a', targetInstance: '' }]) {
    const r = await run(def, input, handlers());
    assert.equal(r.status, 'FAILED', JSON.stringify(input));
    assert.equal(r.error.name, 'Runbook.InvalidInput');
    assert.equal(r.calls.length, 0);
  }
});
