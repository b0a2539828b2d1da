import '../lib/polyfill.mjs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadDefinition, run, awsError, retriesOf, defaultContext, evaluateJsonata, START_TIME } from '../lib/harness.mjs';

const def = loadDefinition('backup-verification');
const input = { requestedBy: 'scheduler' };
const acct = '123456789012';
const table = `arn:aws:dynamodb:us-east-1:${acct}:table/sessions-dev`;
// The definition is the mocked dev stack's: the data bucket's name has a unique tail.
const resources = def.States.Initialize.Result.resources;
const bucket = resources.find((a) => a.startsWith('arn:aws:s3:::data-dev-'));
const rp = (n, status = 'COMPLETED') => ({ RecoveryPointArn: `arn:aws:backup:us-east-1:${acct}:recovery-point:rp-${n}`, Status: status });
const keySchema = [{ AttributeName: 'session_id', KeyType: 'HASH' }];
// The definition names the data key by alias; DescribeKey returns its ARN.
const keyArn = `arn:aws:kms:us-east-1:${acct}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
// The restored table is named after the MD5 of the execution ARN. The
// emulator's own MD5 differs from the real one for inputs of this length
// (md5('arn:...:execution:runbook:test-1') is 4c97aa39..., it yields
// 75357c9e...), so the tests check the shape and that every call uses the
// same name, not the digest.
const restoredPattern = /^sessions-dev-verify-[0-9a-f]{32}$/;
const restoredName = (r) => r.calls.find((c) => c.state === 'StartRestore').input.Metadata.TargetTableName;
const ok = () => ({ MessageId: 'm' });
const notifies = ['NotifyVerified', 'VerificationErrorNotify', 'RecoveryPointsStaleNotify', 'VerificationFailedNotify', 'CleanupFailedNotify',
  'CleanupUnconfirmedNotify', 'RestoreKeyUnusableNotify'];

function handlers({ jobStatus = ['RUNNING', 'COMPLETED'], points = {}, watchStatus = ['RUNNING'], keyState = 'Enabled' } = {}) {
  const h = {
    ResolveRestoreKey: (req) => ({ KeyMetadata: { KeyId: req.KeyId, Arn: keyArn, KeyState: keyState } }),
    BvListRecoveryPoints: (req) => ({ RecoveryPoints: points[req.ByResourceArn] ?? [rp(req.ByResourceArn === table ? 'table' : 'x')] }),
    DescribeSourceTable: () => ({ Table: { TableName: 'sessions-dev', TableStatus: 'ACTIVE', KeySchema: keySchema } }),
    StartRestore: () => ({ RestoreJobId: 'job-1' }),
    DescribeRestoreJob: (_req, n) => ({ RestoreJobId: 'job-1', Status: jobStatus[Math.min(n - 1, jobStatus.length - 1)] }),
    WatchRestoreJob: (_req, n) => ({ RestoreJobId: 'job-1', Status: watchStatus[Math.min(n - 1, watchStatus.length - 1)] }),
    DescribeRestoredTable: (req) => ({ Table: { TableName: req.TableName, TableStatus: 'ACTIVE', KeySchema: keySchema, ItemCount: 42 } }),
    DeleteRestoredTable: (req) => ({ TableDescription: { TableName: req.TableName, TableStatus: 'DELETING' } }),
    CleanUp: (req) => ({ TableDescription: { TableName: req.TableName, TableStatus: 'DELETING' } }),
  };
  for (const n of notifies) h[n] = ok;
  return h;
}
const message = (r) => JSON.parse(r.calls.at(-1).input.Message);
const ran = (r, state) => r.states.filter((s) => s === state).length;
const call = (r, state) => r.calls.find((c) => c.state === state);

test('backup verification: the cutoff state (JSONata) computes start time minus the RPO threshold and keeps the input', async () => {
  const cutoffState = def.States.ComputeCutoff;
  assert.equal(cutoffState.QueryLanguage, 'JSONata');
  const ctx = defaultContext(input, '2026-03-01T00:30:00.000Z');
  const out = await evaluateJsonata(cutoffState.Output, { requestedBy: 'x', config: { a: 1 } }, ctx);
  // 1560 minutes = 26 hours before 2026-03-01T00:30Z crosses a month boundary.
  assert.deepEqual(out, { requestedBy: 'x', config: { a: 1 }, rpo: { thresholdMinutes: 1560, cutoff: '2026-02-27T22:30:00.000Z' } });
});

test('backup verification: happy path checks every resource, restores the latest table point, verifies, deletes, reports', async () => {
  const r = await run(def, input, handlers());
  assert.equal(r.status, 'SUCCEEDED', r.error?.message);
  // The local run used the JSONata state's own value (see the test above).
  assert.deepEqual(r.jsonata.ComputeCutoff, { rpo: { thresholdMinutes: 1560, cutoff: '2025-12-31T10:00:00.000Z' } });
  const lists = r.calls.filter((c) => c.state === 'BvListRecoveryPoints').map((c) => c.input);
  assert.deepEqual(lists.map((l) => l.ByResourceArn).sort(), [...resources].sort());
  for (const l of lists) {
    assert.equal(l.BackupVaultName, 'vault-dev');
    assert.equal(l.ByCreatedAfter, '2025-12-31T10:00:00.000Z');
  }
  assert.deepEqual(r.states.slice(3), ['DescribeSourceTable', 'ResolveRestoreKey', 'StartRestore', 'DescribeRestoreJob', 'DescribeRestoreJob',
    'DescribeRestoredTable', 'DeleteRestoredTable', 'NotifyVerified']);
  const start = call(r, 'StartRestore').input;
  assert.equal(start.RecoveryPointArn, rp('table').RecoveryPointArn);
  assert.equal(start.ResourceType, 'DynamoDB');
  assert.deepEqual(resources, [`arn:aws:rds:us-east-1:${acct}:cluster:aurora-dev`, table, bucket]);
  assert.equal(start.IamRoleArn, `arn:aws:iam::${acct}:role/role-backup-dev`);
  const name = restoredName(r);
  assert.match(name, restoredPattern);
  assert.equal(start.Metadata.encryptionType, 'KMS');
  assert.equal(call(r, 'ResolveRestoreKey').input.KeyId, 'alias/kms-data-dev');
  assert.equal(start.Metadata.kmsMasterKeyArn, keyArn, 'the restore is encrypted with the key the alias names');
  assert.equal(start.IdempotencyToken, name.split('-verify-')[1]);
  assert.equal(call(r, 'DeleteRestoredTable').input.TableName, name);
  assert.equal(call(r, 'DescribeRestoredTable').input.TableName, name);
  const msg = message(r);
  assert.equal(msg.outcome, 'VERIFIED');
  assert.equal(msg.restoredTable, name);
  assert.equal(msg.itemCount, 42);
  assert.equal(msg.recoveryPoints.length, 3);
  assert.ok(msg.recoveryPoints.every((p) => p.fresh === true));
});

test('backup verification: only COMPLETED points count; a resource with none in the window fails before any restore', async () => {
  const r = await run(def, input, handlers({ points: { [bucket]: [rp('s3', 'PARTIAL'), rp('s3b', 'EXPIRED')], [resources[0]]: [] } }));
  assert.equal(r.status, 'FAILED');
  assert.equal(r.error.name, 'BackupVerification.RecoveryPointsStale');
  assert.equal(ran(r, 'StartRestore'), 0);
  assert.equal(ran(r, 'CleanUp'), 0, 'nothing was restored, nothing to clean up');
  const byArn = Object.fromEntries(message(r).details.recoveryPoints.map((p) => [p.resourceArn, p]));
  assert.equal(byArn[bucket].fresh, false);
  assert.equal(byArn[resources[0]].fresh, false);
  assert.equal(byArn[resources[0]].recoveryPointsInWindow, 0);
  assert.equal(byArn[table].fresh, true);
});

test('backup verification: transient errors are retried, then the run succeeds', async () => {
  const h = handlers();
  const list = h.BvListRecoveryPoints;
  const describe = h.DescribeRestoreJob;
  let listCalls = 0;
  h.BvListRecoveryPoints = (req) => { listCalls += 1; if (listCalls === 1) throw awsError('Backup.ThrottlingException'); return list(req); };
  h.DescribeRestoreJob = (req, n) => { if (n === 1) throw awsError('Backup.ServiceUnavailableException'); return describe(req, n - 1); };
  h.DeleteRestoredTable = (req, n) => {
    if (n === 1) throw awsError('DynamoDb.ResourceInUseException', 'table is being created');
    return { TableDescription: { TableName: req.TableName, TableStatus: 'DELETING' } };
  };
  const r = await run(def, input, h);
  assert.equal(r.status, 'SUCCEEDED', r.error?.message);
  assert.equal(retriesOf(r, 'BvListRecoveryPoints'), 1);
  assert.equal(retriesOf(r, 'DescribeRestoreJob'), 1);
  assert.equal(retriesOf(r, 'DeleteRestoredTable'), 1);
  assert.equal(message(r).outcome, 'VERIFIED');
});

test('backup verification: a persistent error after the restore started is caught, the table is deleted, notified, failed', async () => {
  const h = handlers();
  h.DescribeRestoredTable = () => { throw awsError('DynamoDb.AccessDeniedException', 'denied'); };
  const r = await run(def, input, h);
  assert.equal(r.status, 'FAILED');
  assert.equal(r.error.name, 'BackupVerification.Failed');
  assert.equal(ran(r, 'DescribeRestoredTable'), 1, 'AccessDenied is not retried');
  assert.equal(call(r, 'CleanUp').input.TableName, restoredName(r));
  assert.match(restoredName(r), restoredPattern);
  assert.equal(ran(r, 'DeleteRestoredTable'), 0);
  const msg = message(r);
  assert.equal(msg.outcome, 'FAILED');
  assert.match(msg.reason, /DescribeTable failed on the restored table/);
  assert.equal(msg.details.error.Error, 'DynamoDb.AccessDeniedException');
  assert.equal(msg.details.cleanup.status, 'DELETING');
});

test('backup verification: a key schema mismatch fails after deleting the restored table', async () => {
  const h = handlers();
  h.DescribeRestoredTable = (req) => ({ Table: { TableName: req.TableName, TableStatus: 'ACTIVE', ItemCount: 1,
    KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }] } });
  const r = await run(def, input, h);
  assert.equal(r.status, 'FAILED');
  assert.equal(r.error.name, 'BackupVerification.Failed');
  assert.deepEqual(r.states.slice(-2), ['CleanUp', 'VerificationFailedNotify']);
  const msg = message(r);
  assert.match(msg.reason, /key schema differs/);
  assert.deepEqual(msg.details.comparison, { matches: false, status: 'ACTIVE', sourceKeySchema: keySchema,
    keySchema: [{ AttributeName: 'id', KeyType: 'HASH' }] });
});

test('backup verification: a data key that is not Enabled fails before any restore, and so does a DescribeKey error', async () => {
  const disabled = await run(def, input, handlers({ keyState: 'PendingDeletion' }));
  assert.equal(disabled.status, 'FAILED');
  assert.equal(disabled.error.name, 'BackupVerification.KeyUnusable');
  assert.equal(ran(disabled, 'StartRestore'), 0);
  assert.equal(ran(disabled, 'CleanUp'), 0, 'nothing was restored, nothing to clean up');
  assert.equal(message(disabled).outcome, 'KEY_UNUSABLE');
  assert.equal(message(disabled).details.restoreKey.state, 'PendingDeletion');

  const h = handlers();
  let calls = 0;
  h.ResolveRestoreKey = () => { calls += 1; throw awsError(calls === 1 ? 'Kms.KmsInternalException' : 'Kms.NotFoundException', 'no such alias'); };
  const missing = await run(def, input, h);
  assert.equal(missing.status, 'FAILED');
  assert.equal(missing.error.name, 'BackupVerification.Error');
  assert.equal(retriesOf(missing, 'ResolveRestoreKey'), 1, 'the internal error is retried, NotFound is not');
  assert.equal(ran(missing, 'StartRestore'), 0);
});

test('backup verification: a failed StartRestoreJob still runs the cleanup, where a missing table counts as deleted', async () => {
  const h = handlers();
  h.StartRestore = () => { throw awsError('Backup.InvalidRequestException', 'bad metadata'); };
  h.CleanUp = () => { throw awsError('DynamoDb.ResourceNotFoundException', 'no such table'); };
  const r = await run(def, input, h);
  assert.equal(r.status, 'FAILED');
  assert.equal(r.error.name, 'BackupVerification.Failed');
  assert.equal(ran(r, 'CleanUp'), 1, 'ResourceNotFound is caught, not retried');
  const msg = message(r);
  assert.equal(msg.reason, 'StartRestoreJob failed');
  assert.equal(msg.details.cleanup.Error, 'DynamoDb.ResourceNotFoundException');
});

test('backup verification: a cleanup that fails is caught and reported as CLEANUP_FAILED', async () => {
  const h = handlers({ jobStatus: ['FAILED'] });
  h.CleanUp = () => { throw awsError('DynamoDb.AccessDeniedException', 'denied'); };
  const r = await run(def, input, h);
  assert.equal(r.status, 'FAILED');
  assert.equal(r.error.name, 'BackupVerification.CleanupFailed');
  assert.deepEqual(r.states.slice(-2), ['CleanUp', 'CleanupFailedNotify']);
  const msg = message(r);
  assert.equal(msg.outcome, 'CLEANUP_FAILED');
  assert.equal(msg.details.failure.reason, 'the restore job FAILED or was ABORTED');
  assert.equal(msg.details.cleanupError.Error, 'DynamoDb.AccessDeniedException');
  assert.equal(msg.details.restore.tableName, restoredName(r));
});

test('backup verification: a restore completing after the timeout still ends with the delete call', async () => {
  // The job is still RUNNING after 3600 s, completes during the watch.
  const r = await run(def, input, handlers({ jobStatus: ['RUNNING'], watchStatus: ['RUNNING', 'RUNNING', 'COMPLETED'] }));
  assert.equal(r.status, 'FAILED');
  assert.equal(r.error.name, 'BackupVerification.Failed');
  // 3600 s timeout / 30 s interval = 120 polls, then the watch.
  assert.equal(ran(r, 'DescribeRestoreJob'), 120);
  assert.equal(ran(r, 'WatchRestoreJob'), 3);
  assert.equal(call(r, 'WatchRestoreJob').input.RestoreJobId, 'job-1');
  assert.equal(ran(r, 'DescribeRestoredTable'), 0, 'a late restore is not verified, only removed');
  assert.deepEqual(r.states.slice(-3), ['WatchRestoreJob', 'CleanUp', 'VerificationFailedNotify']);
  assert.equal(call(r, 'CleanUp').input.TableName, restoredName(r));
  const msg = message(r);
  assert.match(msg.reason, /did not complete within 3600 seconds/);
  assert.equal(msg.details.cleanup.status, 'DELETING');
  assert.equal(msg.details.restore.state.status, 'COMPLETED');
  // The machine's own timeout leaves room for the wait and the watch.
  assert.ok(def.TimeoutSeconds >= 3600 + 3 * 3600, `TimeoutSeconds ${def.TimeoutSeconds}`);
});

test('backup verification: a failed DescribeRestoreJob does not skip the watch: the table is deleted once the job ends', async () => {
  const h = handlers({ watchStatus: ['FAILED'] });
  h.DescribeRestoreJob = () => { throw awsError('Backup.AccessDeniedException', 'denied'); };
  const r = await run(def, input, h);
  assert.equal(r.status, 'FAILED');
  assert.equal(ran(r, 'DescribeRestoreJob'), 1, 'AccessDenied is not retried');
  assert.deepEqual(r.states.slice(-3), ['WatchRestoreJob', 'CleanUp', 'VerificationFailedNotify']);
  assert.equal(message(r).reason, 'DescribeRestoreJob failed while waiting for the restore');
});

test('backup verification: the watch is bounded: a job that never ends is reported for a later cleanup', async () => {
  const r = await run(def, input, handlers({ jobStatus: ['RUNNING'], watchStatus: ['RUNNING'] }));
  assert.equal(r.status, 'FAILED');
  assert.equal(r.error.name, 'BackupVerification.CleanupUnconfirmed');
  assert.equal(ran(r, 'DescribeRestoreJob'), 120);
  // 3 x 3600 s watch / 300 s interval = 36 polls.
  assert.equal(ran(r, 'WatchRestoreJob'), 36);
  assert.equal(ran(r, 'CleanUp'), 0);
  const msg = message(r);
  assert.equal(msg.outcome, 'CLEANUP_UNCONFIRMED');
  assert.equal(msg.details.restore.job.id, 'job-1');
  assert.equal(msg.details.restore.tableName, restoredName(r));
});

test('backup verification: a retried DeleteTable that finds the table gone counts as deleted, not as a cleanup failure', async () => {
  const h = handlers();
  h.DeleteRestoredTable = (_req, n) => {
    if (n === 1) throw awsError('DynamoDb.InternalServerErrorException', 'applied, but the response was lost');
    throw awsError('DynamoDb.ResourceNotFoundException', 'no such table');
  };
  const r = await run(def, input, h);
  assert.equal(r.status, 'SUCCEEDED', r.error?.message);
  assert.equal(retriesOf(r, 'DeleteRestoredTable'), 1);
  assert.equal(message(r).outcome, 'VERIFIED');
});

test('backup verification: a listing error for one resource marks it stale with the error, no restore', async () => {
  const h = handlers();
  const list = h.BvListRecoveryPoints;
  h.BvListRecoveryPoints = (req) => {
    if (req.ByResourceArn === table) throw awsError('Backup.AccessDeniedException', 'denied');
    return list(req);
  };
  const r = await run(def, input, h);
  assert.equal(r.status, 'FAILED');
  assert.equal(r.error.name, 'BackupVerification.RecoveryPointsStale');
  const entry = message(r).details.recoveryPoints.find((p) => p.resourceArn === table);
  assert.equal(entry.error.Error, 'Backup.AccessDeniedException');
  assert.equal(ran(r, 'StartRestore'), 0);
});

test('backup verification: invalid input fails before any API call', async () => {
  const r = await run(def, {}, handlers());
  assert.equal(r.error.name, 'Runbook.InvalidInput');
  assert.equal(r.calls.length, 0);
  void START_TIME;
});
