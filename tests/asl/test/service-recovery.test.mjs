import '../lib/polyfill.mjs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadDefinition, run, awsError, retriesOf, defaultContext } from '../lib/harness.mjs';

const def = loadDefinition('service-recovery');
const input = { requestedBy: 'operator-1', reason: 'drill' };
const healthyTargets = () => ({ TargetHealthDescriptions: [{ Target: { Id: 'a' }, TargetHealth: { State: 'healthy' } }] });
const notifies = ['NotifyRecovered', 'RolledBackNotify', 'RolledBackUnhealthyNotify', 'RollbackFailedNotify',
  'RecoveryFailedNotify', 'NoKnownGoodNotify', 'LockFailedNotify'];

// A steady service: one PRIMARY deployment of td:7 that reached COMPLETED.
const steady = [{ Id: 'ecs-svc/7', Status: 'PRIMARY', TaskDefinition: 'arn:td/app:7', RolloutState: 'COMPLETED',
  CreatedAt: '2026-01-01T09:00:00Z' }];
// A bad deployment of td:9 in progress; td:8 (newest COMPLETED) and td:6 are older. td:6 is listed first.
const badRollout = [
  { Id: 'ecs-svc/9', Status: 'PRIMARY', TaskDefinition: 'arn:td/app:9', RolloutState: 'IN_PROGRESS', CreatedAt: '2026-01-01T11:50:00Z' },
  { Id: 'ecs-svc/6', Status: 'ACTIVE', TaskDefinition: 'arn:td/app:6', RolloutState: 'COMPLETED', CreatedAt: '2026-01-01T08:00:00Z' },
  { Id: 'ecs-svc/8', Status: 'ACTIVE', TaskDefinition: 'arn:td/app:8', RolloutState: 'COMPLETED', CreatedAt: '2026-01-01T10:00:00Z' },
];

/**
 * The lock table: one item per key, PutItem/DeleteItem evaluated with the
 * runbook's conditions (absent, lease expired or own lock; owner matches).
 */
function lockTable() {
  const items = new Map();
  return {
    items,
    put: (req) => {
      const key = req.Item.session_id.S;
      const cur = items.get(key);
      const now = Number(req.ExpressionAttributeValues[':now'].N);
      const me = req.ExpressionAttributeValues[':owner'].S;
      if (cur && !(Number(cur.expires_at_epoch.N) < now) && cur.lock_owner.S !== me) {
        throw awsError('DynamoDb.ConditionalCheckFailedException', 'The conditional request failed');
      }
      items.set(key, req.Item);
      return {};
    },
    del: (req) => {
      const key = req.Key.session_id.S;
      const cur = items.get(key);
      if (!cur || cur.lock_owner.S !== req.ExpressionAttributeValues[':owner'].S) {
        throw awsError('DynamoDb.ConditionalCheckFailedException', 'The conditional request failed');
      }
      items.delete(key);
      return {};
    },
  };
}

function handlers({ rollout = ['IN_PROGRESS', 'COMPLETED'], deployments = steady, primaryAfter = 'arn:td/app:7', lock = lockTable() } = {}) {
  const h = {
    AcquireLock: lock.put,
    ReleaseLock: lock.del,
    ReleaseLockAfterFailure: lock.del,
    RecordTaskDefinition: () => ({ Services: [{ TaskDefinition: deployments[0].TaskDefinition, DesiredCount: 3, Deployments: deployments }] }),
    ForceNewDeployment: () => ({ Service: { Deployments: [{ Id: 'ecs-svc/new', Status: 'PRIMARY' }, { Id: 'ecs-svc/old', Status: 'ACTIVE' }] } }),
    DescribeDeployment: (_req, n) => ({ Services: [{ Deployments: [
      { Id: 'ecs-svc/new', Status: 'PRIMARY', RolloutState: rollout[Math.min(n - 1, rollout.length - 1)] }] }] }),
    RbDescribeService: () => ({ Services: [{ Deployments: [{ Id: 'ecs-svc/x', Status: 'PRIMARY', TaskDefinition: primaryAfter }] }] }),
    SrResolveTargetGroups: () => ({ TargetGroups: [{ TargetGroupArn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg-dev-0123abcd/0123456789abcdef' }] }),
    SrDescribeTargetHealth: healthyTargets,
    RbResolveTargetGroups: () => ({ TargetGroups: [{ TargetGroupArn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg-dev-0123abcd/0123456789abcdef' }] }),
    RbDescribeTargetHealth: healthyTargets,
    RollBack: (req) => ({ Service: { TaskDefinition: req.TaskDefinition } }),
  };
  for (const n of notifies) h[n] = () => ({ MessageId: 'm' });
  return h;
}
const message = (r) => JSON.parse(r.calls.filter((c) => c.input.Message).at(-1).input.Message);
const call = (r, state) => r.calls.find((c) => c.state === state);
const ecsCalls = (r) => r.states.filter((s) => ['RecordTaskDefinition', 'ForceNewDeployment', 'DescribeDeployment',
  'RbDescribeService', 'RollBack'].includes(s));
const lockKey = 'runbook-lock#service-recovery#arn:aws:ecs:us-east-1:123456789012:service/ecs-dev/svc-trading-dev';

test('service recovery: happy path takes the lock, forces a deployment, waits for COMPLETED, verifies, notifies, releases', async () => {
  const lock = lockTable();
  const r = await run(def, input, handlers({ lock }));
  assert.equal(r.status, 'SUCCEEDED', r.error?.message);
  assert.deepEqual(r.states, ['AcquireLock', 'RecordTaskDefinition', 'ForceNewDeployment', 'DescribeDeployment', 'DescribeDeployment',
    'SrResolveTargetGroups', 'SrDescribeTargetHealth', 'NotifyRecovered', 'ReleaseLock']);
  const put = call(r, 'AcquireLock').input;
  assert.equal(put.TableName, 'sessions-dev');
  assert.equal(put.Item.session_id.S, lockKey);
  assert.equal(put.Item.lock_owner.S, defaultContext(input).Execution.Id);
  // Lease: execution start (2026-01-01T12:00:00Z) + the machine's TimeoutSeconds (900 + 1800).
  assert.equal(put.ExpressionAttributeValues[':now'].N, String(Date.parse('2026-01-01T12:00:00Z') / 1000));
  assert.equal(put.Item.expires_at_epoch.N, String(Date.parse('2026-01-01T12:00:00Z') / 1000 + 2700));
  assert.equal(def.TimeoutSeconds, 2700);
  assert.equal(call(r, 'ForceNewDeployment').input.ForceNewDeployment, true);
  const msg = message(r);
  assert.equal(msg.outcome, 'RECOVERED');
  assert.equal(msg.previousTaskDefinition, 'arn:td/app:7');
  assert.equal(msg.knownGood.taskDefinition, 'arn:td/app:7');
  assert.equal(lock.items.size, 0, 'the lock was released');
});

test('service recovery: a second concurrent execution exits without acting', async () => {
  const lock = lockTable();
  const ctxB = defaultContext(input);
  ctxB.Execution = { ...ctxB.Execution, Id: 'arn:aws:states:us-east-1:123456789012:execution:runbook:test-2', Name: 'test-2' };
  let second;
  const a = handlers({ lock });
  const record = a.RecordTaskDefinition;
  // While A holds the lock (it has read the service), B starts.
  a.RecordTaskDefinition = async (req) => {
    second = await run(def, input, handlers({ lock }), { context: ctxB });
    return record(req);
  };
  const first = await run(def, input, a);
  assert.equal(first.status, 'SUCCEEDED', first.error?.message);
  assert.equal(second.status, 'SUCCEEDED', second.error?.message);
  assert.deepEqual(second.states, ['AcquireLock'], 'B made no ECS call, published nothing, released nothing');
  assert.deepEqual(ecsCalls(second), []);
  assert.equal(second.output.recovery[0].report.outcome, 'ALREADY_RUNNING');
  assert.equal(second.output.recovery[0].lockHeldBy.Error, 'DynamoDb.ConditionalCheckFailedException');
  assert.equal(first.states.filter((s) => s === 'ForceNewDeployment').length, 1, 'A recovered, once');
  assert.equal(first.states.at(-1), 'ReleaseLock');
  assert.equal(lock.items.size, 0, 'A released its lock');
});

test('service recovery: a lock whose lease has expired (holder timed out) is taken over', async () => {
  const lock = lockTable();
  lock.items.set(lockKey, { session_id: { S: lockKey }, lock_owner: { S: 'arn:old' }, expires_at_epoch: { N: '1767268000' } });
  const r = await run(def, input, handlers({ lock }));
  assert.equal(r.status, 'SUCCEEDED', r.error?.message);
  assert.ok(r.states.includes('ForceNewDeployment'));
  assert.equal(lock.items.size, 0);
});

test('service recovery: rollback picks the last known-good revision, not the current one', async () => {
  const lock = lockTable();
  const r = await run(def, input, handlers({ deployments: badRollout, rollout: ['IN_PROGRESS', 'FAILED'], primaryAfter: 'arn:td/app:9', lock }));
  assert.equal(r.status, 'FAILED');
  assert.equal(r.error.name, 'ServiceRecovery.RolledBack', 'the recovery error survives the lock release');
  assert.equal(call(r, 'ForceNewDeployment').input.TaskDefinition, undefined, 'the forced deployment keeps the current revision');
  const rb = call(r, 'RollBack').input;
  assert.equal(rb.TaskDefinition, 'arn:td/app:8', 'newest COMPLETED deployment');
  assert.notEqual(rb.TaskDefinition, 'arn:td/app:9');
  assert.equal(rb.ForceNewDeployment, undefined);
  assert.deepEqual(r.states.slice(-5), ['RollBack', 'RbResolveTargetGroups', 'RbDescribeTargetHealth', 'RolledBackNotify', 'ReleaseLockAfterFailure']);
  const msg = message(r);
  assert.equal(msg.outcome, 'ROLLED_BACK');
  assert.match(msg.reason, /failed or was replaced/);
  assert.equal(msg.details.knownGood.taskDefinition, 'arn:td/app:8');
  assert.equal(msg.details.rollback.updatedService, true);
  assert.equal(lock.items.size, 0, 'the lock was released after the failure');
});

test('service recovery: when the circuit breaker already rolled back to the known-good revision, no second deployment', async () => {
  // Steady td:7; the forced deployment is replaced (circuit breaker rollback to td:7).
  const h = handlers({ primaryAfter: 'arn:td/app:7' });
  h.DescribeDeployment = () => ({ Services: [{ Deployments: [{ Id: 'ecs-svc/rollback', Status: 'PRIMARY', RolloutState: 'IN_PROGRESS' }] }] });
  const r = await run(def, input, h);
  assert.equal(r.status, 'FAILED');
  assert.equal(r.error.name, 'ServiceRecovery.RolledBack');
  assert.ok(!r.states.includes('RollBack'), 'UpdateService is not called again');
  assert.deepEqual(r.states.slice(-5), ['RbDescribeService', 'RbResolveTargetGroups', 'RbDescribeTargetHealth', 'RolledBackNotify', 'ReleaseLockAfterFailure']);
  const msg = message(r);
  assert.equal(msg.details.rollback.updatedService, false);
  assert.equal(msg.details.rollback.taskDefinition, 'arn:td/app:7');
});

test('service recovery: with no COMPLETED deployment there is nothing known-good: reported, not rolled back', async () => {
  const deployments = [{ Id: 'ecs-svc/9', Status: 'PRIMARY', TaskDefinition: 'arn:td/app:9', RolloutState: 'IN_PROGRESS', CreatedAt: '2026-01-01T11:50:00Z' }];
  const r = await run(def, input, handlers({ deployments, rollout: ['FAILED'] }));
  assert.equal(r.status, 'FAILED');
  assert.equal(r.error.name, 'ServiceRecovery.NoKnownGood');
  assert.ok(!r.states.includes('RollBack') && !r.states.includes('RbDescribeService'));
  assert.equal(message(r).outcome, 'NOT_ROLLED_BACK');
  assert.equal(r.states.at(-1), 'ReleaseLockAfterFailure');
});

test('service recovery: throttled UpdateService is retried; a server error is not (it may have started a deployment)', async () => {
  const h = handlers();
  const ok = h.ForceNewDeployment;
  h.ForceNewDeployment = (req, n) => { if (n === 1) throw awsError('Ecs.ThrottlingException'); return ok(req); };
  const r = await run(def, input, h);
  assert.equal(r.status, 'SUCCEEDED', r.error?.message);
  assert.equal(retriesOf(r, 'ForceNewDeployment'), 1);
  assert.ok(!r.states.includes('RollBack'));

  const h2 = handlers({ deployments: badRollout, primaryAfter: 'arn:td/app:9' });
  h2.ForceNewDeployment = () => { throw awsError('Ecs.ServerException', 'internal error'); };
  const r2 = await run(def, input, h2);
  assert.equal(r2.states.filter((s) => s === 'ForceNewDeployment').length, 1, 'not retried');
  assert.equal(call(r2, 'RollBack').input.TaskDefinition, 'arn:td/app:8');
  assert.equal(message(r2).details.error.Error, 'Ecs.ServerException');
});

test('service recovery: persistent API error during the rollout is caught and rolled back', async () => {
  const h = handlers({ deployments: badRollout, primaryAfter: 'arn:td/app:9' });
  h.DescribeDeployment = () => { throw awsError('Ecs.AccessDeniedException', 'denied'); };
  const r = await run(def, input, h);
  assert.equal(r.status, 'FAILED');
  assert.equal(r.states.filter((s) => s === 'DescribeDeployment').length, 1);
  assert.equal(call(r, 'RollBack').input.TaskDefinition, 'arn:td/app:8');
  const msg = message(r);
  assert.match(msg.reason, /API call failed/);
  assert.equal(msg.details.error.Error, 'Ecs.AccessDeniedException');
});

test('service recovery: rollout that never completes times out (bounded poll) and rolls back', async () => {
  const r = await run(def, input, handlers({ deployments: badRollout, rollout: ['IN_PROGRESS'], primaryAfter: 'arn:td/app:9' }));
  assert.equal(r.status, 'FAILED');
  assert.equal(r.error.name, 'ServiceRecovery.RolledBack');
  // 900 s timeout / 30 s interval = 30 polls, then rollback.
  assert.equal(r.states.filter((s) => s === 'DescribeDeployment').length, 30);
  assert.match(message(r).reason, /did not complete within 900 seconds/);
  assert.equal(call(r, 'RollBack').input.TaskDefinition, 'arn:td/app:8');
});

test('service recovery: a lock that cannot be taken (not a held lock) fails without touching the service', async () => {
  const h = handlers();
  h.AcquireLock = () => { throw awsError('DynamoDb.AccessDeniedException', 'denied'); };
  const r = await run(def, input, h);
  assert.equal(r.status, 'FAILED');
  assert.equal(r.error.name, 'ServiceRecovery.LockFailed');
  assert.deepEqual(ecsCalls(r), []);
  assert.equal(message(r).outcome, 'LOCK_FAILED');
});

test('service recovery: invalid input fails before any API call', async () => {
  const r = await run(def, { reason: 'x' }, handlers());
  assert.equal(r.status, 'FAILED');
  assert.equal(r.error.name, 'Runbook.InvalidInput');
  assert.deepEqual(r.calls, []);
});
