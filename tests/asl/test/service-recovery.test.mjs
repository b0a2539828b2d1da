import '../lib/polyfill.mjs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadDefinition, run, awsError, retriesOf } from '../lib/harness.mjs';

const def = loadDefinition('service-recovery');
const input = { requestedBy: 'operator-1', reason: 'drill' };
const healthyTargets = () => ({ TargetHealthDescriptions: [{ Target: { Id: 'a' }, TargetHealth: { State: 'healthy' } }] });

function handlers({ rollout = ['IN_PROGRESS', 'COMPLETED'] } = {}) {
  return {
    RecordTaskDefinition: () => ({ Services: [{ TaskDefinition: 'arn:td/app:7', DesiredCount: 3 }] }),
    ForceNewDeployment: () => ({ Service: { Deployments: [{ Id: 'ecs-svc/new', Status: 'PRIMARY' }, { Id: 'ecs-svc/old', Status: 'ACTIVE' }] } }),
    DescribeDeployment: (_req, n) => ({ Services: [{ Deployments: [
      { Id: 'ecs-svc/new', Status: 'PRIMARY', RolloutState: rollout[Math.min(n - 1, rollout.length - 1)] }] }] }),
    SrDescribeTargetHealth: healthyTargets,
    RbDescribeTargetHealth: healthyTargets,
    RollBack: (req) => ({ Service: { TaskDefinition: req.TaskDefinition } }),
    NotifyRecovered: () => ({ MessageId: 'm' }),
    RolledBackNotify: () => ({ MessageId: 'm' }),
    RolledBackUnhealthyNotify: () => ({ MessageId: 'm' }),
    RollbackFailedNotify: () => ({ MessageId: 'm' }),
    RecoveryFailedNotify: () => ({ MessageId: 'm' }),
  };
}

test('service recovery: happy path forces a deployment, waits for COMPLETED, verifies targets, notifies', async () => {
  const r = await run(def, input, handlers());
  assert.equal(r.status, 'SUCCEEDED', r.error?.message);
  assert.deepEqual(r.states, ['RecordTaskDefinition', 'ForceNewDeployment', 'DescribeDeployment', 'DescribeDeployment',
    'SrDescribeTargetHealth', 'NotifyRecovered']);
  assert.equal(r.calls[1].input.ForceNewDeployment, true);
  const msg = JSON.parse(r.calls.at(-1).input.Message);
  assert.equal(msg.outcome, 'RECOVERED');
  assert.equal(msg.previousTaskDefinition, 'arn:td/app:7');
});

test('service recovery: throttled UpdateService is retried, then succeeds', async () => {
  const h = handlers();
  const ok = h.ForceNewDeployment;
  h.ForceNewDeployment = (req, n) => { if (n === 1) throw awsError('Ecs.ThrottlingException'); return ok(req); };
  const r = await run(def, input, h);
  assert.equal(r.status, 'SUCCEEDED', r.error?.message);
  assert.equal(retriesOf(r, 'ForceNewDeployment'), 1);
  assert.ok(!r.states.includes('RollBack'));
});

test('service recovery: failed rollout rolls back to the recorded task definition and notifies', async () => {
  const r = await run(def, input, handlers({ rollout: ['IN_PROGRESS', 'FAILED'] }));
  assert.equal(r.status, 'FAILED');
  assert.equal(r.error.name, 'ServiceRecovery.RolledBack');
  const rb = r.calls.find((c) => c.state === 'RollBack');
  assert.equal(rb.input.TaskDefinition, 'arn:td/app:7');
  assert.deepEqual(r.states.slice(-3), ['RollBack', 'RbDescribeTargetHealth', 'RolledBackNotify']);
  const msg = JSON.parse(r.calls.at(-1).input.Message);
  assert.equal(msg.outcome, 'ROLLED_BACK');
  assert.match(msg.reason, /failed or was replaced/);
});

test('service recovery: persistent API error during the rollout is caught and rolled back', async () => {
  const h = handlers();
  h.DescribeDeployment = () => { throw awsError('Ecs.AccessDeniedException', 'denied'); };
  const r = await run(def, input, h);
  assert.equal(r.status, 'FAILED');
  assert.equal(r.states.filter((s) => s === 'DescribeDeployment').length, 1);
  assert.equal(r.calls.find((c) => c.state === 'RollBack').input.TaskDefinition, 'arn:td/app:7');
  const msg = JSON.parse(r.calls.at(-1).input.Message);
  assert.match(msg.reason, /API call failed/);
  assert.equal(msg.details.error.Error, 'Ecs.AccessDeniedException');
});

test('service recovery: rollout that never completes times out (bounded poll) and rolls back', async () => {
  const r = await run(def, input, handlers({ rollout: ['IN_PROGRESS'] }));
  assert.equal(r.status, 'FAILED');
  assert.equal(r.error.name, 'ServiceRecovery.RolledBack');
  // 900 s timeout / 30 s interval = 30 polls, then rollback.
  assert.equal(r.states.filter((s) => s === 'DescribeDeployment').length, 30);
  const msg = JSON.parse(r.calls.at(-1).input.Message);
  assert.match(msg.reason, /did not complete within 900 seconds/);
  assert.equal(r.calls.find((c) => c.state === 'RollBack').input.TaskDefinition, 'arn:td/app:7');
});
