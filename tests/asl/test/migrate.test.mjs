import '../lib/polyfill.mjs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadDefinition, run, awsError, retriesOf } from '../lib/harness.mjs';

// The migrate runbook of the mocked dev stack: ReadNetwork
// (ssm:GetParameter of /trading/dev/migrate/network) -> ParseNetwork ->
// RunMigration (ecs:runTask.sync of the migrate family) -> the exit code
// decides: 0 succeeds, anything else (or none) reports and fails.
const def = loadDefinition('migrate');
const network = { subnets: ['subnet-private-a', 'subnet-private-b', 'subnet-private-c'], securityGroups: ['sg-migrate'] };
const taskArn = 'arn:aws:ecs:us-east-1:123456789012:task/ecs-dev/0123456789abcdef';
// What the run-a-job integration returns once the task stopped: the task
// as DescribeTasks describes it.
const stopped = (container) => ({ TaskArn: taskArn, LastStatus: 'STOPPED', StopCode: 'EssentialContainerExited',
  Containers: [{ Name: 'migrate', LastStatus: 'STOPPED', ...container }] });

function handlers(run) {
  return {
    ReadNetwork: (req) => {
      assert.equal(req.Name, '/trading/dev/migrate/network');
      return { Parameter: { Name: req.Name, Type: 'String', Value: JSON.stringify(network), Version: 1 } };
    },
    RunMigration: run,
    MigrationFailedNotify: () => ({ MessageId: 'm' }),
    MigrationNotRunNotify: () => ({ MessageId: 'm' }),
  };
}
const report = (r) => JSON.parse(r.calls.at(-1).input.Message);

test('migrate: runs the latest migrate revision in the private subnets without a public IP and succeeds on exit code 0', async () => {
  const r = await run(def, { requestedBy: 'deploy:alice' }, handlers(() => stopped({ ExitCode: 0 })));
  assert.equal(r.status, 'SUCCEEDED', r.error?.message);
  assert.deepEqual(r.states, ['ReadNetwork', 'RunMigration']);
  assert.equal(def.States.RunMigration.Resource, 'arn:aws:states:::ecs:runTask.sync');
  const { input } = r.calls.find((c) => c.state === 'RunMigration');
  assert.deepEqual(input, {
    Cluster: 'arn:aws:ecs:us-east-1:123456789012:cluster/ecs-dev', TaskDefinition: 'task-migrate-dev',
    LaunchType: 'FARGATE', PlatformVersion: 'LATEST', Count: 1, EnableECSManagedTags: true, PropagateTags: 'TASK_DEFINITION',
    NetworkConfiguration: { AwsvpcConfiguration: { Subnets: network.subnets, SecurityGroups: network.securityGroups, AssignPublicIp: 'DISABLED' } },
  });
  assert.equal(r.output.report.outcome, 'MIGRATED');
  assert.equal(r.output.report.taskArn, taskArn);
  assert.equal(r.output.report.exitCode, 0);
});

test('migrate: a non-zero exit code reports FAILED and fails the execution', async () => {
  const r = await run(def, { requestedBy: 'deploy' }, handlers(() => stopped({ ExitCode: 1, Reason: 'migrate step failed' })));
  assert.equal(r.status, 'FAILED');
  assert.equal(r.error.name ?? r.error.error, 'Migrate.Failed');
  assert.deepEqual(r.states, ['ReadNetwork', 'RunMigration', 'MigrationFailedNotify']);
  const msg = report(r);
  assert.equal(msg.runbook, 'migrate');
  assert.equal(msg.outcome, 'FAILED');
  assert.equal(msg.details.migration.Containers[0].ExitCode, 1);
});

test('migrate: a task that stopped without running its container (no exit code) fails too', async () => {
  const r = await run(def, { requestedBy: 'deploy' }, handlers(() => ({ TaskArn: taskArn, LastStatus: 'STOPPED', StopCode: 'TaskFailedToStart',
    StoppedReason: 'ResourceInitializationError: unable to pull secrets', Containers: [{ Name: 'migrate', LastStatus: 'STOPPED' }] })));
  assert.equal(r.status, 'FAILED');
  assert.deepEqual(r.states, ['ReadNetwork', 'RunMigration', 'MigrationFailedNotify']);
  assert.match(report(r).details.migration.StoppedReason, /ResourceInitializationError/);
});

test('migrate: RunTask is retried on capacity errors, then the migration runs once', async () => {
  const r = await run(def, { requestedBy: 'deploy' }, handlers((_req, n) => {
    if (n === 1) throw awsError('ECS.AmazonECSException', 'Capacity is unavailable at this time. Please try again later or in a different availability zone');
    if (n === 2) throw awsError('AmazonECS.Unknown', 'RunTask failures: RESOURCE:ENI');
    return stopped({ ExitCode: 0 });
  }));
  assert.equal(r.status, 'SUCCEEDED', r.error?.message);
  assert.equal(retriesOf(r, 'RunMigration'), 2);
  assert.equal(r.states.filter((s) => s === 'RunMigration').length, 3);
});

test('migrate: capacity that never comes reports NOT_RUN after the retries; other errors are not retried', async () => {
  let r = await run(def, { requestedBy: 'deploy' }, handlers(() => { throw awsError('ECS.AmazonECSException', 'Capacity is unavailable'); }));
  assert.equal(r.status, 'FAILED');
  assert.equal(r.error.name ?? r.error.error, 'Migrate.NotRun');
  assert.equal(r.states.filter((s) => s === 'RunMigration').length, 1 + def.States.RunMigration.Retry[0].MaxAttempts);
  assert.equal(report(r).outcome, 'NOT_RUN');

  r = await run(def, { requestedBy: 'deploy' }, handlers(() => { throw awsError('States.TaskFailed', 'AccessDenied: iam:PassRole'); }));
  assert.equal(r.status, 'FAILED');
  assert.equal(r.states.filter((s) => s === 'RunMigration').length, 1);
  assert.equal(report(r).outcome, 'NOT_RUN');
});

test('migrate: input without requestedBy is refused before anything runs', async () => {
  const r = await run(def, {}, handlers(() => stopped({ ExitCode: 0 })));
  assert.equal(r.status, 'FAILED');
  assert.deepEqual(r.states, []);
});
