// Validates every exported definition (build/asl/*.json, excluding the
// *.permissions.json files) with asl-validator's library API.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import validator from 'asl-validator';
import { ASL_DIR } from './lib/harness.mjs';

export function definitionFiles() {
  return readdirSync(ASL_DIR).filter((f) => f.endsWith('.json') && !f.endsWith('.permissions.json')).sort();
}

export function validateAll() {
  return definitionFiles().map((f) => {
    const def = JSON.parse(readFileSync(path.join(ASL_DIR, f), 'utf8'));
    const { isValid, errors } = validator(def);
    return { file: f, isValid, errors };
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const results = validateAll();
  for (const r of results) console.log(`${r.isValid ? 'valid  ' : 'INVALID'} ${r.file}`, r.isValid ? '' : JSON.stringify(r.errors));
  process.exit(results.every((r) => r.isValid) && results.length > 0 ? 0 : 1);
}
