import { test } from 'node:test';
import assert from 'node:assert/strict';
import { definitionFiles, validateAll } from '../validate.mjs';

test('every state machine of the mocked dev run was exported: the five runbooks, the backup snapshot workflow and the key sync', () => {
  assert.deepEqual(definitionFiles(), ['backup-verification.json', 'database-failover.json', 'health-check.json',
    'key-sync.json', 'migrate.json', 'service-recovery.json', 'snapshot.json']);
});

for (const r of validateAll()) {
  test(`asl-validator accepts ${r.file}`, () => {
    assert.equal(r.isValid, true, JSON.stringify(r.errors));
  });
}
