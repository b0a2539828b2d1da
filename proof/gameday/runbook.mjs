// Runs a recorded runbook definition for the game day twin: the local Step
// Functions harness of tests/asl executes it, every Task state's call goes
// to the twin's control plane (POST {state, resource, input}), and each
// Wait runs `scale` times faster than written. Prints one JSON line:
// {Status, States, Error, Output}.
// Usage: node runbook.mjs <definition.json> <input-json> <api-url> <scale> <start-time-iso>
import { readFileSync } from 'node:fs';
import { run, allStates, awsError, defaultContext } from '../../tests/asl/lib/harness.mjs';

const [defPath, inputJSON, api, scaleArg, startTime] = process.argv.slice(2);
const definition = JSON.parse(readFileSync(defPath, 'utf8'));
const input = JSON.parse(inputJSON);
const scale = Number(scaleArg);

const handlers = {};
for (const [name, s] of allStates(definition)) {
  if (s.Type !== 'Task') continue;
  handlers[name] = async (taskInput) => {
    const res = await fetch(api, { method: 'POST', body: JSON.stringify({ state: name, resource: s.Resource, input: taskInput }) });
    const body = await res.json();
    if (body.error) throw awsError(body.error, body.cause);
    return body.output;
  };
}
const waitMs = (s) => Math.max(1, Math.round(((s.Seconds ?? 0) * 1000) / scale));
const r = await run(definition, input, handlers, { context: defaultContext(input, startTime), waitMs });
process.stdout.write(JSON.stringify({ Status: r.status, States: r.states, Error: r.error ? String(r.error.message ?? r.error) : '', Output: r.output ?? {} }) + '\n');
