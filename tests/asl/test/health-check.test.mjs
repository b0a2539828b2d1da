import '../lib/polyfill.mjs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadDefinition, run, awsError, entered, retriesOf } from '../lib/harness.mjs';

const def = loadDefinition('health-check');
const input = { requestedBy: 'test' };

function healthy() {
  return {
    HcResolveTargetGroups: () => ({ TargetGroups: [{ TargetGroupArn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg-dev-0123abcd/0123456789abcdef' }] }),
    HcDescribeTargetHealth: () => ({
      TargetHealthDescriptions: [
        { Target: { Id: '10.0.1.10' }, TargetHealth: { State: 'healthy' } },
        { Target: { Id: '10.0.2.10' }, TargetHealth: { State: 'healthy' } },
      ],
    }),
    HcDescribeService: () => ({
      Services: [{ Status: 'ACTIVE', RunningCount: 3, DesiredCount: 3, TaskDefinition: 'td:7',
        Deployments: [{ Id: 'ecs-svc/1', Status: 'PRIMARY', RolloutState: 'COMPLETED' }] }],
    }),
    HcDescribeCluster: () => ({
      DbClusters: [{ Status: 'available', DbClusterMembers: [
        { DbInstanceIdentifier: 'aurora-dev-1', IsClusterWriter: true },
        { DbInstanceIdentifier: 'aurora-dev-2', IsClusterWriter: false }] }],
    }),
    HcDescribeTable: () => ({ Table: { TableStatus: 'ACTIVE' } }),
    HcGetCanaryRuns: () => ({ CanaryRuns: [
      { Id: 'run-2', Status: { State: 'PASSED' }, Timeline: { Started: '2026-01-01T11:55:00Z', Completed: '2026-01-01T11:56:00Z' } }] }),
    // The runbook asks only for alarms in StateValue=ALARM; honour the filter.
    HcDescribeAlarms: (req) => {
      const all = [{ AlarmName: 'alb-5xx-dev', StateValue: 'OK' }, { AlarmName: 'composite-dev', StateValue: 'OK', composite: true }];
      const hit = all.filter((a) => a.StateValue === req.StateValue);
      return { MetricAlarms: hit.filter((a) => !a.composite), CompositeAlarms: hit.filter((a) => a.composite) };
    },
    NotifyUnhealthy: () => ({ MessageId: 'm-1' }),
  };
}

test('health check: all healthy, no notification', async () => {
  const r = await run(def, input, healthy());
  assert.equal(r.status, 'SUCCEEDED', r.error?.message);
  assert.equal(r.output.report.healthy, true, JSON.stringify(r.output.report.checks.filter((c) => !c.healthy)));
  assert.equal(r.output.report.checks.length, 6);
  assert.ok(r.output.report.checks.every((c) => c.healthy === true));
  assert.ok(!r.states.includes('NotifyUnhealthy'));
  assert.deepEqual([...new Set(r.states)].sort(), ['HcDescribeAlarms', 'HcDescribeCluster', 'HcDescribeService',
    'HcDescribeTable', 'HcDescribeTargetHealth', 'HcGetCanaryRuns', 'HcResolveTargetGroups']);
  assert.ok(entered(r).includes('Healthy'));
});

test('health check: transient throttling is retried, then succeeds', async () => {
  const h = healthy();
  const ok = h.HcDescribeCluster;
  h.HcDescribeCluster = (req, n) => {
    if (n <= 2) throw awsError('Rds.ThrottlingException', 'Rate exceeded');
    return ok(req);
  };
  const r = await run(def, input, h);
  assert.equal(r.status, 'SUCCEEDED', r.error?.message);
  assert.equal(r.states.filter((s) => s === 'HcDescribeCluster').length, 3);
  assert.equal(retriesOf(r, 'HcDescribeCluster'), 2);
  assert.equal(r.output.report.healthy, true);
});

test('health check: persistent API error marks the component unhealthy and notifies', async () => {
  const h = healthy();
  h.HcDescribeTable = () => { throw awsError('DynamoDb.ResourceNotFoundException', 'no table'); };
  const r = await run(def, input, h);
  assert.equal(r.status, 'SUCCEEDED', r.error?.message);
  assert.equal(r.output.report.healthy, false);
  const table = r.output.report.checks.find((c) => c.component === 'dynamodb-table');
  assert.equal(table.healthy, false);
  assert.equal(table.error.Error, 'DynamoDb.ResourceNotFoundException');
  assert.equal(r.states.filter((s) => s === 'HcDescribeTable').length, 1, 'not retried: not a throttling/server error');
  assert.equal(r.states.at(-1), 'NotifyUnhealthy');
  const msg = JSON.parse(r.calls.at(-1).input.Message);
  assert.equal(msg.healthy, false);
  assert.equal(r.calls.at(-1).input.TopicArn, 'arn:aws:sns:us-east-1:123456789012:notify-dev', 'the dev stack notification topic (mocked run): runbook reports notify, they never page');
});

test('health check: unhealthy targets and an alarm are reported', async () => {
  const h = healthy();
  h.HcDescribeTargetHealth = () => ({ TargetHealthDescriptions: [
    { Target: { Id: 'a' }, TargetHealth: { State: 'healthy' } }, { Target: { Id: 'b' }, TargetHealth: { State: 'unhealthy' } }] });
  h.HcDescribeAlarms = () => ({ MetricAlarms: [{ AlarmName: 'alb-5xx-dev', StateValue: 'ALARM' }], CompositeAlarms: [] });
  const r = await run(def, input, h);
  assert.equal(r.status, 'SUCCEEDED');
  const bad = r.output.report.checks.filter((c) => !c.healthy).map((c) => c.component).sort();
  assert.deepEqual(bad, ['alarms', 'alb-targets']);
  assert.equal(r.states.at(-1), 'NotifyUnhealthy');
});

test('health check: invalid input fails before any API call', async () => {
  const r = await run(def, { requestedBy: 42 }, healthy());
  assert.equal(r.status, 'FAILED');
  assert.equal(r.error.name, 'Runbook.InvalidInput');
  assert.deepEqual(r.calls, []);
});

// GetCanaryRuns returns the run in progress too; the verdict is the newest
// completed run, whatever order the runs come in.
const running = { Id: 'run-3', Status: { State: 'RUNNING' }, Timeline: { Started: '2026-01-01T12:00:00Z' } };
const completed = (id, state, at) => ({ Id: id, Status: { State: state }, Timeline: { Started: at, Completed: at } });

test('health check: a RUNNING newest canary run followed by a PASSED one is HEALTHY', async () => {
  const h = healthy();
  h.HcGetCanaryRuns = () => ({ CanaryRuns: [running, completed('run-2', 'PASSED', '2026-01-01T11:56:00Z'),
    completed('run-1', 'FAILED', '2026-01-01T11:51:00Z')] });
  const r = await run(def, input, h);
  assert.equal(r.status, 'SUCCEEDED', r.error?.message);
  assert.equal(r.calls.find((c) => c.state === 'HcGetCanaryRuns').input.MaxResults, 5);
  const canary = r.output.report.checks.find((c) => c.component === 'canary');
  assert.equal(canary.healthy, true);
  assert.equal(canary.detail.verdict, 'PASSED');
  assert.equal(canary.detail.latest.Id, 'run-2');
  assert.equal(r.output.report.healthy, true);
  assert.ok(!r.states.includes('NotifyUnhealthy'), 'HEALTHY: nothing published');
  assert.ok(entered(r).includes('Healthy'));
});

test('health check: a RUNNING newest canary run followed by a FAILED one is UNHEALTHY', async () => {
  const h = healthy();
  // The older PASSED run is listed first: the verdict follows the end times, not the order.
  h.HcGetCanaryRuns = () => ({ CanaryRuns: [completed('run-1', 'PASSED', '2026-01-01T11:51:00Z'), running,
    completed('run-2', 'FAILED', '2026-01-01T11:56:00Z')] });
  const r = await run(def, input, h);
  assert.equal(r.status, 'SUCCEEDED', r.error?.message);
  const canary = r.output.report.checks.find((c) => c.component === 'canary');
  assert.equal(canary.healthy, false);
  assert.equal(canary.detail.verdict, 'FAILED');
  assert.equal(canary.detail.latest.Id, 'run-2');
  assert.equal(r.output.report.healthy, false);
  assert.equal(r.states.at(-1), 'NotifyUnhealthy');
  assert.equal(JSON.parse(r.calls.at(-1).input.Message).healthy, false);
  assert.ok(entered(r).includes('ReportedUnhealthy'));
});

test('health check: only RUNNING canary runs (no completed run) is unhealthy', async () => {
  const h = healthy();
  h.HcGetCanaryRuns = () => ({ CanaryRuns: [running] });
  const r = await run(def, input, h);
  assert.equal(r.status, 'SUCCEEDED', r.error?.message);
  const canary = r.output.report.checks.find((c) => c.component === 'canary');
  assert.equal(canary.healthy, false);
  assert.equal(canary.detail.verdict, 'NO_COMPLETED_RUN');
  assert.equal(r.states.at(-1), 'NotifyUnhealthy');
});
