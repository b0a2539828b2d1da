import { test } from 'node:test';
import assert from 'node:assert/strict';
import { definitionFiles, validateAll } from '../validate.mjs';

test('every runbook was exported', () => {
  assert.deepEqual(definitionFiles(), ['backup-verification.json', 'database-failover.json', 'health-check.json', 'service-recovery.json']);
});

for (const r of validateAll()) {
  test(`asl-validator accepts ${r.file}`, () => {
    assert.equal(r.isValid, true, JSON.stringify(r.errors));
  });
}
