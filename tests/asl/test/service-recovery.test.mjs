import '../lib/polyfill.mjs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadDefinition, run, awsError, retriesOf, defaultContext } from '../lib/harness.mjs';

// The service recovery acts only where a rollback can help: customer impact
// that started within RecentDeploymentMinutes (30) after the PRIMARY
// deployment, a previous COMPLETED task definition, no dependency outage, no
// AZ loss, no rollback by ECS itself. The execution starts at 12:00:00Z.
const def = loadDefinition('service-recovery');
const input = { requestedBy: 'eventbridge:rule-degraded-dev', reason: 'alarm-degraded-dev entered ALARM' };
const PAGE = 'arn:aws:sns:us-east-1:123456789012:alarms-dev';
const NOTIFY = 'arn:aws:sns:us-east-1:123456789012:notify-dev';
const alarm = (key) => `alarm-${key}-dev`;
const CUSTOMER = ['canary-success', 'r53-health', 'alb-5xx-rate', 'p99-latency'].map(alarm);
const DEPENDENCY = ['ddb-sessions-throttles', 'ddb-sessions-system-errors'].map(alarm);
const ZONAL = ['us-east-1a', 'us-east-1b', 'us-east-1c'].map((az) => alarm(`healthy-hosts-${az}`));

/** Metric alarms as DescribeAlarms returns them: every judged alarm, OK unless listed in firing {name: since}. */
function alarms(firing = {}) {
  return { MetricAlarms: [...CUSTOMER, ...DEPENDENCY, ...ZONAL].map((n) => ({
    AlarmName: n,
    StateValue: firing[n] ? 'ALARM' : 'OK',
    StateTransitionedTimestamp: firing[n] ?? '2025-12-31T00:00:00Z',
    StateUpdatedTimestamp: firing[n] ?? '2025-12-31T00:00:00Z',
  })) };
}

// ECS as documented: a service's deployments (DescribeServices) are "the
// current state of deployments for the service"; a deployment that has been
// completely replaced is INACTIVE and no longer listed, so once a rollout
// completed only the PRIMARY deployment is shown. The history of earlier
// versions is ECS's service deployment history (ListServiceDeployments,
// DescribeServiceRevisions), mocked by history() below.
const SVC_PATH = 'ecs-dev/svc-trading-dev';
const CLUSTER = 'arn:aws:ecs:us-east-1:123456789012:cluster/ecs-dev';
const rev = (id) => `arn:aws:ecs:us-east-1:123456789012:service-revision/${SVC_PATH}/${id}`;
const sd = (id) => `arn:aws:ecs:us-east-1:123456789012:service-deployment/${SVC_PATH}/${id}`;

// td:9 deployed at 11:40 and COMPLETED (it passed health and the bake time):
// DescribeServices lists the PRIMARY deployment only.
const badDeploy = [
  { Id: 'ecs-svc/9', Status: 'PRIMARY', TaskDefinition: 'arn:td/app:9', RolloutState: 'COMPLETED', CreatedAt: '2026-01-01T11:40:00Z' },
];
/**
 * The service deployment history, in no particular order (ListServiceDeployments
 * documents none): td:8 at 10:00 and td:6 at 08:00 succeeded; td:10 at 11:00
 * was rolled back by ECS (ROLLBACK_SUCCESSFUL: not a healthy version), a
 * deployment at 09:00 was stopped; td:9's own deployment is the newest.
 */
const badDeployHistory = [
  { id: 'sd-6', status: 'SUCCESSFUL', td: 'arn:td/app:6', createdAt: '2026-01-01T08:00:00Z' },
  { id: 'sd-9', status: 'SUCCESSFUL', td: 'arn:td/app:9', createdAt: '2026-01-01T11:40:00Z' },
  { id: 'sd-10', status: 'ROLLBACK_SUCCESSFUL', td: 'arn:td/app:10', createdAt: '2026-01-01T11:00:00Z' },
  { id: 'sd-7', status: 'STOPPED', td: 'arn:td/app:7', createdAt: '2026-01-01T09:00:00Z' },
  { id: 'sd-8', status: 'SUCCESSFUL', td: 'arn:td/app:8', createdAt: '2026-01-01T10:00:00Z' },
];
// td:7 has run since 09:00: nothing was deployed recently.
const steady = [{ Id: 'ecs-svc/7', Status: 'PRIMARY', TaskDefinition: 'arn:td/app:7', RolloutState: 'COMPLETED', CreatedAt: '2026-01-01T09:00:00Z' }];
const steadyHistory = [
  { id: 'sd-5', status: 'SUCCESSFUL', td: 'arn:td/app:5', createdAt: '2025-12-30T09:00:00Z' },
  { id: 'sd-7', status: 'SUCCESSFUL', td: 'arn:td/app:7', createdAt: '2026-01-01T09:00:00Z' },
];

/**
 * ListServiceDeployments and DescribeServiceRevisions over a history of
 * {id, status, td, createdAt} (each deployment targets revision rev-<id>):
 * the status filter, maxResults (default 20) and nextToken as the API
 * documents them; at most 20 revision ARNs per describe.
 */
function history(entries) {
  return {
    list: (req) => {
      const matching = entries.filter((e) => !req.Status || req.Status.includes(e.status));
      const from = Number(req.NextToken ?? 0);
      const size = req.MaxResults ?? 20;
      const page = matching.slice(from, from + size);
      const out = { ServiceDeployments: page.map((e) => ({
        ServiceDeploymentArn: sd(e.id), ServiceArn: `arn:aws:ecs:us-east-1:123456789012:service/${SVC_PATH}`, ClusterArn: CLUSTER,
        CreatedAt: e.createdAt, StartedAt: e.createdAt, FinishedAt: e.createdAt, Status: e.status, TargetServiceRevisionArn: rev(`rev-${e.id}`),
      })) };
      if (from + size < matching.length) out.NextToken = String(from + size);
      return out;
    },
    describe: (req) => {
      if (!(req.ServiceRevisionArns?.length >= 1 && req.ServiceRevisionArns.length <= 20)) {
        throw awsError('Ecs.InvalidParameterException', `${req.ServiceRevisionArns?.length} service revision ARNs`);
      }
      const byArn = new Map(entries.map((e) => [rev(`rev-${e.id}`), e]));
      return {
        ServiceRevisions: req.ServiceRevisionArns.filter((a) => byArn.has(a)).map((a) => ({
          ServiceRevisionArn: a, ServiceArn: `arn:aws:ecs:us-east-1:123456789012:service/${SVC_PATH}`, ClusterArn: CLUSTER,
          TaskDefinition: byArn.get(a).td, CreatedAt: byArn.get(a).createdAt, LaunchType: 'FARGATE',
        })),
        Failures: req.ServiceRevisionArns.filter((a) => !byArn.has(a)).map((arn) => ({ arn, reason: 'MISSING' })),
      };
    },
  };
}
const fiveXX = { [alarm('alb-5xx-rate')]: '2026-01-01T11:50:00Z' };

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

const primary = (id, td = 'arn:td/app:x') => ({ Services: [{ TaskDefinition: td, Deployments: [{ Id: id, Status: 'PRIMARY', TaskDefinition: td }] }] });
const tg = () => ({ TargetGroups: [{ TargetGroupArn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg-dev-0123abcd/0123456789abcdef' }] });
const healthy = () => ({ TargetHealthDescriptions: [{ Target: { Id: 'a' }, TargetHealth: { State: 'healthy' } }] });

/**
 * Mocked SDK calls. deployments/firing describe the service and the alarms
 * at the start; stillFiring[n] is the customer alarms in ALARM at the n-th
 * check after the rollback. The handlers of the previous runbook's states
 * (force a new deployment, poll it, check targets) answer like a healthy
 * service, so the old definition runs to its end and is judged by its
 * behaviour, not by a missing mock.
 */
function handlers({ deployments = badDeploy, deploymentHistory = badDeployHistory, firing = fiveXX, stillFiring = [[alarm('alb-5xx-rate')], []],
  watchPrimary = 'ecs-svc/rb', confirmPrimary = deployments.find((d) => d.Status === 'PRIMARY')?.Id, lock = lockTable() } = {}) {
  const service = () => ({ Services: [{ TaskDefinition: deployments[0]?.TaskDefinition, DesiredCount: 3, Deployments: deployments }] });
  const ecsHistory = history(deploymentHistory);
  const h = {
    AcquireLock: lock.put,
    ReleaseLock: lock.del,
    ReleaseLockAfterFailure: lock.del,
    DescribeService: service,
    ReadAlarms: () => alarms(firing),
    ListSuccessfulDeployments: ecsHistory.list,
    ListMoreSuccessfulDeployments: ecsHistory.list,
    DescribeHistoryRevisions: ecsHistory.describe,
    ConfirmJudgedDeployment: () => primary(confirmPrimary),
    RollBack: (req) => ({ Service: { TaskDefinition: req.TaskDefinition, Deployments: [
      { Id: 'ecs-svc/rb', Status: 'PRIMARY', TaskDefinition: req.TaskDefinition },
      { Id: confirmPrimary, Status: 'ACTIVE' }] } }),
    WatchService: () => primary(watchPrimary),
    WatchAlarms: (_req, n) => {
      const names = stillFiring[Math.min(n - 1, stillFiring.length - 1)];
      return { MetricAlarms: names.map((AlarmName) => ({ AlarmName, StateValue: 'ALARM' })) };
    },
    // the previous runbook's states
    RecordTaskDefinition: service,
    ForceNewDeployment: () => ({ Service: { Deployments: [{ Id: 'ecs-svc/new', Status: 'PRIMARY' }] } }),
    DescribeDeployment: () => ({ Services: [{ Deployments: [{ Id: 'ecs-svc/new', Status: 'PRIMARY', RolloutState: 'COMPLETED' }] }] }),
    RbDescribeService: service,
    SrResolveTargetGroups: tg, SrDescribeTargetHealth: healthy, RbResolveTargetGroups: tg, RbDescribeTargetHealth: healthy,
  };
  for (const n of ['NotifyNoAction', 'NotifyNewerDeployment', 'NotifyRecovered', 'NotRecoveredNotify', 'RollbackFailedNotify',
    'WatchFailedNotify', 'RecoveryFailedNotify', 'LockFailedNotify',
    'RolledBackNotify', 'RolledBackUnhealthyNotify', 'NoKnownGoodNotify']) h[n] = () => ({ MessageId: 'm' });
  return h;
}
const publishes = (r) => r.calls.filter((c) => c.input.Message);
const message = (r) => JSON.parse(publishes(r).at(-1).input.Message);
const call = (r, state) => r.calls.find((c) => c.state === state);
/** Task states that would change the service (ECS UpdateService, in either runbook). */
const writes = (r) => r.states.filter((s) => ['RollBack', 'ForceNewDeployment'].includes(s));
const lockKey = 'runbook-lock#service-recovery#arn:aws:ecs:us-east-1:123456789012:service/ecs-dev/svc-trading-dev';
/** The history lookup of a judgement that allows a rollback (one page, one describe). */
const lookup = ['ListSuccessfulDeployments', 'DescribeHistoryRevisions'];

test('service recovery: a bad deploy that passed health is rolled back to the previous task definition, RECOVERED when the alarms clear', async () => {
  const lock = lockTable();
  const r = await run(def, input, handlers({ lock }));
  assert.equal(r.status, 'SUCCEEDED', r.error?.message);
  assert.deepEqual(r.states, ['AcquireLock', 'DescribeService', 'ReadAlarms', ...lookup, 'ConfirmJudgedDeployment', 'RollBack',
    'WatchService', 'WatchAlarms', 'WatchService', 'WatchAlarms', 'NotifyRecovered', 'ReleaseLock']);
  const rb = call(r, 'RollBack').input;
  assert.equal(rb.TaskDefinition, 'arn:td/app:8', 'the newest earlier SUCCESSFUL deployment, not the current td:9');
  assert.equal(rb.ForceNewDeployment, undefined);
  assert.deepEqual(call(r, 'ReadAlarms').input.AlarmNames, [...CUSTOMER, ...DEPENDENCY, ...ZONAL]);
  assert.deepEqual(call(r, 'WatchAlarms').input.AlarmNames, CUSTOMER);
  assert.equal(call(r, 'WatchAlarms').input.StateValue, 'ALARM');
  const msg = message(r);
  assert.equal(msg.outcome, 'RECOVERED');
  assert.equal(msg.judgement.deploymentId, 'ecs-svc/9');
  assert.equal(msg.judgement.previousTaskDefinition, 'arn:td/app:8');
  assert.equal(msg.judgement.previousServiceDeploymentArn, sd('sd-8'));
  assert.equal(msg.judgement.previousServiceRevisionArn, rev('rev-sd-8'));
  assert.deepEqual(msg.judgement.customerAlarms, [alarm('alb-5xx-rate')]);
  assert.equal(msg.judgement.impactStartedAt, '2026-01-01T11:50:00.000Z');
  assert.equal(publishes(r).at(-1).input.TopicArn, NOTIFY);
  assert.equal(lock.items.size, 0, 'the lock was released');
});

test('service recovery: a bad deploy that completed (DescribeServices lists only the PRIMARY deployment) is rolled back to the previous revision\'s task definition', async () => {
  const r = await run(def, input, handlers());
  const msg = message(r);
  assert.deepEqual(writes(r), ['RollBack'], `expected a rollback, got ${msg.outcome}: ${msg.reason}`);
  assert.equal(call(r, 'RollBack').input.TaskDefinition, 'arn:td/app:8', 'td:8, the previous revision\'s task definition in the deployment history');
  // The history: every SUCCESSFUL deployment of the service, read with the API's largest page.
  assert.deepEqual(call(r, 'ListSuccessfulDeployments').input,
    { Cluster: CLUSTER, Service: 'svc-trading-dev', Status: ['SUCCESSFUL'], MaxResults: 100 });
  // Revisions created before the PRIMARY deployment, newest first; td:9's own is not a candidate.
  assert.deepEqual(call(r, 'DescribeHistoryRevisions').input, { ServiceRevisionArns: [rev('rev-sd-8'), rev('rev-sd-6')] });
  assert.equal(msg.outcome, 'RECOVERED');
  assert.equal(r.output.recovery[0].revisions, undefined, 'the revisions are dropped once read');
});

test('service recovery: an earlier deployment of the current task definition (a forced redeploy) is skipped', async () => {
  const deploymentHistory = [...badDeployHistory,
    { id: 'sd-9a', status: 'SUCCESSFUL', td: 'arn:td/app:9', createdAt: '2026-01-01T10:30:00Z' }];
  const r = await run(def, input, handlers({ deploymentHistory }));
  assert.equal(r.status, 'SUCCEEDED', r.error?.message);
  assert.deepEqual(call(r, 'DescribeHistoryRevisions').input.ServiceRevisionArns, [rev('rev-sd-9a'), rev('rev-sd-8'), rev('rev-sd-6')]);
  assert.equal(call(r, 'RollBack').input.TaskDefinition, 'arn:td/app:8');
});

test('service recovery: every page of the history is read; the newest 20 revisions are described', async () => {
  // 150 older SUCCESSFUL deployments come first, td:8 (the newest) on the second page.
  const old = Array.from({ length: 150 }, (_, i) => ({ id: `sd-old-${i}`, status: 'SUCCESSFUL', td: `arn:td/app:old-${i}`,
    createdAt: new Date(Date.parse('2025-12-01T00:00:00Z') + i * 3600e3).toISOString() }));
  const r = await run(def, input, handlers({ deploymentHistory: [...old, ...badDeployHistory] }));
  assert.equal(r.status, 'SUCCEEDED', r.error?.message);
  assert.deepEqual(r.states.slice(0, 6), ['AcquireLock', 'DescribeService', 'ReadAlarms', 'ListSuccessfulDeployments', 'ListMoreSuccessfulDeployments', 'DescribeHistoryRevisions']);
  assert.equal(call(r, 'ListMoreSuccessfulDeployments').input.NextToken, '100');
  const arns = call(r, 'DescribeHistoryRevisions').input.ServiceRevisionArns;
  assert.equal(arns.length, 20);
  assert.deepEqual(arns.slice(0, 3), [rev('rev-sd-8'), rev('rev-sd-6'), rev('rev-sd-old-149')]);
  assert.equal(call(r, 'RollBack').input.TaskDefinition, 'arn:td/app:8');

  // A history longer than 10 pages is not guessed from its first pages.
  const many = Array.from({ length: 1001 }, (_, i) => ({ id: `sd-m-${i}`, status: 'SUCCESSFUL', td: `arn:td/app:m-${i}`,
    createdAt: new Date(Date.parse('2025-11-01T00:00:00Z') + i * 60e3).toISOString() }));
  const r2 = await run(def, input, handlers({ deploymentHistory: many }));
  assert.equal(r2.status, 'SUCCEEDED', r2.error?.message);
  assert.equal(r2.states.filter((st) => st.endsWith('SuccessfulDeployments')).length, 10);
  assert.equal(message(r2).outcome, 'NO_HEALTHY_PREVIOUS');
  assert.match(message(r2).reason, /more than 10 pages/);
  assert.deepEqual(writes(r2), []);
});

test('service recovery: the history cannot be read: nothing changed, FAILED; throttling is retried', async () => {
  const h = handlers();
  h.ListSuccessfulDeployments = () => { throw awsError('Ecs.AccessDeniedException', 'denied'); };
  const r = await run(def, input, h);
  assert.equal(r.status, 'FAILED');
  assert.equal(r.error.name, 'ServiceRecovery.Failed');
  assert.deepEqual(writes(r), []);
  assert.equal(message(r).outcome, 'FAILED');

  const h2 = handlers();
  const describe = h2.DescribeHistoryRevisions;
  h2.DescribeHistoryRevisions = (req, n) => { if (n === 1) throw awsError('Ecs.ThrottlingException'); return describe(req); };
  const r2 = await run(def, input, h2);
  assert.equal(r2.status, 'SUCCEEDED', r2.error?.message);
  assert.equal(retriesOf(r2, 'DescribeHistoryRevisions'), 1);
  assert.equal(call(r2, 'RollBack').input.TaskDefinition, 'arn:td/app:8');
});

test('service recovery: customers still affected at the bound: NOT_RECOVERED, paged, failed', async () => {
  const r = await run(def, input, handlers({ stillFiring: [[alarm('alb-5xx-rate')]] }));
  assert.equal(r.status, 'FAILED');
  assert.equal(r.error.name, 'ServiceRecovery.NotRecovered');
  assert.equal(writes(r).length, 1, 'one rollback, never a second deployment');
  assert.equal(r.states.filter((s) => s === 'WatchAlarms').length, 30, '900 s / 30 s checks');
  assert.equal(message(r).outcome, 'NOT_RECOVERED');
  assert.equal(publishes(r).at(-1).input.TopicArn, PAGE, 'pages');
  assert.equal(r.states.at(-1), 'ReleaseLockAfterFailure');
});

test('service recovery: a deployment newer than the judged one (before the rollback) is left alone', async () => {
  const r = await run(def, input, handlers({ confirmPrimary: 'ecs-svc/10' }));
  assert.equal(r.status, 'SUCCEEDED', r.error?.message);
  assert.deepEqual(r.states, ['AcquireLock', 'DescribeService', 'ReadAlarms', ...lookup, 'ConfirmJudgedDeployment', 'NotifyNewerDeployment', 'ReleaseLock']);
  assert.deepEqual(writes(r), [], 'no UpdateService');
  assert.equal(message(r).outcome, 'NEWER_DEPLOYMENT');
});

test('service recovery: a fix deployed while the runbook watches is not rolled back', async () => {
  const r = await run(def, input, handlers({ watchPrimary: 'ecs-svc/fix', stillFiring: [[alarm('alb-5xx-rate')]] }));
  assert.equal(r.status, 'SUCCEEDED', r.error?.message);
  assert.deepEqual(r.states, ['AcquireLock', 'DescribeService', 'ReadAlarms', ...lookup, 'ConfirmJudgedDeployment', 'RollBack',
    'WatchService', 'NotifyNewerDeployment', 'ReleaseLock']);
  assert.equal(writes(r).length, 1, 'only the runbook\'s own rollback, before the fix appeared');
  assert.equal(message(r).outcome, 'NEWER_DEPLOYMENT');
  assert.match(message(r).reason, /left alone/);
});

test('service recovery: a dependency outage after a deploy: no action, DEPENDENCY_OUTAGE', async () => {
  const firing = { ...fiveXX, [alarm('ddb-sessions-system-errors')]: '2026-01-01T11:49:00Z' };
  const r = await run(def, input, handlers({ firing }));
  assert.equal(r.status, 'SUCCEEDED', r.error?.message);
  assert.deepEqual(r.states, ['AcquireLock', 'DescribeService', 'ReadAlarms', 'NotifyNoAction', 'ReleaseLock']);
  assert.deepEqual(writes(r), []);
  const msg = message(r);
  assert.equal(msg.outcome, 'DEPENDENCY_OUTAGE');
  assert.deepEqual(msg.judgement.dependencyAlarms, [alarm('ddb-sessions-system-errors')]);
});

test('service recovery: an AZ loss: no action, AZ_IMPAIRED', async () => {
  const firing = { [alarm('canary-success')]: '2026-01-01T11:52:00Z', [alarm('healthy-hosts-us-east-1b')]: '2026-01-01T11:51:00Z' };
  const r = await run(def, input, handlers({ firing }));
  assert.equal(r.status, 'SUCCEEDED', r.error?.message);
  assert.deepEqual(r.states, ['AcquireLock', 'DescribeService', 'ReadAlarms', 'NotifyNoAction', 'ReleaseLock']);
  assert.deepEqual(writes(r), []);
  assert.equal(message(r).outcome, 'AZ_IMPAIRED');
});

test('service recovery: impact with no recent deployment: no action, NO_RECENT_DEPLOYMENT', async () => {
  const r = await run(def, input, handlers({ deployments: steady, deploymentHistory: steadyHistory }));
  assert.equal(r.status, 'SUCCEEDED', r.error?.message);
  assert.deepEqual(r.states, ['AcquireLock', 'DescribeService', 'ReadAlarms', 'NotifyNoAction', 'ReleaseLock']);
  assert.deepEqual(writes(r), []);
  const msg = message(r);
  assert.equal(msg.outcome, 'NO_RECENT_DEPLOYMENT');
  assert.equal(msg.judgement.windowMinutes, 30);
  // Impact that started before the deployment is not the deployment's either.
  const early = await run(def, input, handlers({ firing: { [alarm('p99-latency')]: '2026-01-01T11:30:00Z' } }));
  assert.equal(message(early).outcome, 'NO_RECENT_DEPLOYMENT');
  assert.deepEqual(writes(early), []);
});

test('service recovery: ECS deployment alarms already rolled back: reported, no action', async () => {
  const deployments = [
    { Id: 'ecs-svc/rb', Status: 'PRIMARY', TaskDefinition: 'arn:td/app:8', RolloutState: 'IN_PROGRESS', CreatedAt: '2026-01-01T11:52:00Z',
      RolloutStateReason: 'ECS deployment alarm-alb-5xx-rate-dev: rolling back to deploymentId ecs-svc/8.' },
    { Id: 'ecs-svc/9', Status: 'ACTIVE', TaskDefinition: 'arn:td/app:9', RolloutState: 'FAILED', CreatedAt: '2026-01-01T11:40:00Z' },
  ];
  const r = await run(def, input, handlers({ deployments }));
  assert.equal(r.status, 'SUCCEEDED', r.error?.message);
  assert.deepEqual(r.states, ['AcquireLock', 'DescribeService', 'ReadAlarms', 'NotifyNoAction', 'ReleaseLock']);
  assert.deepEqual(writes(r), []);
  assert.equal(message(r).outcome, 'ECS_ROLLED_BACK');
  assert.match(message(r).reason, /rolling back/);
});

test('service recovery: a deployment still rolling out is ECS\'s to judge; no previous SUCCESSFUL version: no action', async () => {
  // While td:9 rolls out, the deployment it replaces is still ACTIVE.
  const rolling = [{ ...badDeploy[0], RolloutState: 'IN_PROGRESS' },
    { Id: 'ecs-svc/8', Status: 'ACTIVE', TaskDefinition: 'arn:td/app:8', RolloutState: 'COMPLETED', CreatedAt: '2026-01-01T10:00:00Z' }];
  const r = await run(def, input, handlers({ deployments: rolling }));
  assert.equal(message(r).outcome, 'DEPLOYMENT_IN_PROGRESS');
  assert.deepEqual(r.states, ['AcquireLock', 'DescribeService', 'ReadAlarms', 'NotifyNoAction', 'ReleaseLock'], 'the history is not read');
  assert.deepEqual(writes(r), []);
  // The history holds td:9's own deployment only (the service's first version).
  const r2 = await run(def, input, handlers({ deploymentHistory: [badDeployHistory[1]] }));
  assert.equal(r2.status, 'SUCCEEDED', r2.error?.message);
  assert.deepEqual(r2.states, ['AcquireLock', 'DescribeService', 'ReadAlarms', 'ListSuccessfulDeployments', 'NotifyNoAction', 'ReleaseLock']);
  assert.equal(message(r2).outcome, 'NO_HEALTHY_PREVIOUS');
  assert.match(message(r2).reason, /no SUCCESSFUL deployment of another task definition/);
  assert.deepEqual(writes(r2), []);
  // Earlier versions that ECS rolled back or that were stopped are not healthy ones.
  const r3 = await run(def, input, handlers({ deploymentHistory: badDeployHistory.filter((e) => e.status !== 'SUCCESSFUL' || e.id === 'sd-9') }));
  assert.equal(message(r3).outcome, 'NO_HEALTHY_PREVIOUS');
  assert.deepEqual(writes(r3), []);
});

test('service recovery: a second concurrent execution exits without acting', async () => {
  const lock = lockTable();
  const ctxB = defaultContext(input);
  ctxB.Execution = { ...ctxB.Execution, Id: 'arn:aws:states:us-east-1:123456789012:execution:runbook:test-2', Name: 'test-2' };
  let second;
  const a = handlers({ lock });
  const describe = a.DescribeService;
  a.DescribeService = async (req) => {
    second = await run(def, input, handlers({ lock }), { context: ctxB });
    return describe(req);
  };
  const first = await run(def, input, a);
  assert.equal(first.status, 'SUCCEEDED', first.error?.message);
  assert.equal(second.status, 'SUCCEEDED', second.error?.message);
  assert.deepEqual(second.states, ['AcquireLock'], 'B made no ECS or CloudWatch call, published nothing, released nothing');
  assert.equal(second.output.recovery[0].report.outcome, 'ALREADY_RUNNING');
  assert.equal(writes(first).length, 1, 'A rolled back, once');
  assert.equal(lock.items.size, 0, 'A released its lock');
});

test('service recovery: a lock whose lease has expired (holder timed out) is taken over', async () => {
  const lock = lockTable();
  lock.items.set(lockKey, { session_id: { S: lockKey }, lock_owner: { S: 'arn:old' }, expires_at_epoch: { N: '1767268000' } });
  const r = await run(def, input, handlers({ lock }));
  assert.equal(r.status, 'SUCCEEDED', r.error?.message);
  assert.equal(call(r, 'AcquireLock').input.Item.expires_at_epoch.N, String(Date.parse('2026-01-01T12:00:00Z') / 1000 + 2700));
  assert.equal(lock.items.size, 0);
});

test('service recovery: throttled UpdateService is retried; a server error is not (it may have started a deployment) and pages', async () => {
  const h = handlers();
  const ok = h.RollBack;
  h.RollBack = (req, n) => { if (n === 1) throw awsError('Ecs.ThrottlingException'); return ok(req); };
  const r = await run(def, input, h);
  assert.equal(r.status, 'SUCCEEDED', r.error?.message);
  assert.equal(retriesOf(r, 'RollBack'), 1);

  const h2 = handlers();
  h2.RollBack = () => { throw awsError('Ecs.ServerException', 'internal error'); };
  const r2 = await run(def, input, h2);
  assert.equal(r2.status, 'FAILED');
  assert.equal(r2.error.name, 'ServiceRecovery.RollbackFailed');
  assert.equal(r2.states.filter((s) => s === 'RollBack').length, 1, 'not retried');
  assert.equal(message(r2).outcome, 'ROLLBACK_FAILED');
  assert.equal(publishes(r2).at(-1).input.TopicArn, PAGE);
});

test('service recovery: the alarms cannot be read: nothing changed, FAILED', async () => {
  const h = handlers();
  h.ReadAlarms = () => { throw awsError('CloudWatch.AccessDeniedException', 'denied'); };
  const r = await run(def, input, h);
  assert.equal(r.status, 'FAILED');
  assert.equal(r.error.name, 'ServiceRecovery.Failed');
  assert.deepEqual(writes(r), []);
});
