// Test harness: loads an exported runbook, runs it with aws-local-stepfunctions
// and records every Task handler call in order.
import './polyfill.mjs';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { StateMachine } from 'aws-local-stepfunctions';
import jsonata from 'jsonata';

const here = path.dirname(fileURLToPath(import.meta.url));
export const ASL_DIR = process.env.ASL_DIR ?? path.resolve(here, '../../../build/asl');

/** Reads build/asl/<name>.json. */
export function loadDefinition(name) {
  return JSON.parse(readFileSync(path.join(ASL_DIR, `${name}.json`), 'utf8'));
}

/** An error as the AWS SDK integration reports it: name = "<Service>.<Exception>". */
export function awsError(name, message = name) {
  const err = new Error(message);
  err.name = name;
  return err;
}

/** Lists every state (recursing into Parallel and Map) as [name, state]. */
export function allStates(def) {
  const out = [];
  const walk = (states) => {
    for (const [name, s] of Object.entries(states)) {
      out.push([name, s]);
      for (const b of s.Branches ?? []) walk(b.States);
      if (s.ItemProcessor) walk(s.ItemProcessor.States);
      if (s.Iterator) walk(s.Iterator.States);
    }
  };
  walk(def.States);
  return out;
}

/**
 * $parse, one of the functions Step Functions adds to JSONata (Step
 * Functions Developer Guide, "Transforming data with JSONata in Step
 * Functions": $parse deserializes a JSON string); the jsonata library has
 * no such function.
 */
function parse(text) {
  if (typeof text !== 'string') throw new Error('$parse: argument is not a string');
  return JSON.parse(text);
}

/**
 * Evaluates a JSONata "{% expr %}" string as Step Functions would, with
 * $states.input and $states.context bound, and Step Functions' $parse.
 */
export async function evaluateJsonata(template, input, context) {
  const m = /^\{%(.*)%\}$/s.exec(template);
  if (!m) throw new Error(`not a JSONata template: ${template}`);
  const out = await jsonata(m[1]).evaluate({}, { states: { input, context }, parse });
  return out === undefined ? undefined : JSON.parse(JSON.stringify(out)); // plain objects, not null-prototype ones
}

/**
 * aws-local-stepfunctions 3.x has no JSONata. Each JSONata Pass state is
 * replaced by a Task state whose local handler evaluates the state's real
 * Output expression with the jsonata library, against the state's actual
 * input and the run's context (so data-dependent expressions — the canary
 * run selection, the known-good task definition — run as written). These
 * handlers are not recorded as calls. Returns the local definition and a
 * record: for each JSONata state, the members its last evaluation added or
 * changed relative to its input (tests assert them).
 */
export function localizeJsonata(definition, context) {
  const def = structuredClone(definition);
  const replaced = {};
  const handlers = {};
  for (const [name, s] of allStates(def)) {
    if (s.QueryLanguage !== 'JSONata') continue;
    if (s.Type !== 'Pass' || typeof s.Output !== 'string') throw new Error(`harness: cannot localize JSONata state ${name}`);
    const expr = s.Output;
    handlers[name] = async (input) => {
      const out = await evaluateJsonata(expr, input, context);
      const changed = {};
      for (const [k, v] of Object.entries(out ?? {})) {
        if (JSON.stringify(v) !== JSON.stringify(input?.[k])) changed[k] = v;
      }
      replaced[name] = changed;
      return out;
    };
    const flow = s.End ? { End: true } : { Next: s.Next };
    for (const k of Object.keys(s)) delete s[k];
    Object.assign(s, { Type: 'Task', Resource: `arn:aws:lambda:us-east-1:123456789012:function:local-jsonata-${name}`, ...flow });
  }
  return { definition: def, replaced, handlers };
}

/**
 * Runs a definition.
 * handlers: { [taskStateName]: (input, callIndex) => result | Promise } — every
 *   Task state reached must have a handler, otherwise the run throws.
 * Returns { status: 'SUCCEEDED'|'FAILED', output, error, calls, events }.
 * calls: [{ state, input }] in order; events: the library's event log.
 */
export async function run(definition, input, handlers, { context } = {}) {
  const calls = [];
  const counts = {};
  const local = {};
  const waits = {};
  const retries = {};
  for (const [name, s] of allStates(definition)) {
    if (s.Type === 'Task') {
      retries[name] = 1;
      local[name] = async (taskInput) => {
        calls.push({ state: name, input: taskInput });
        const handler = handlers[name];
        if (!handler) throw new Error(`test harness: no handler for Task state ${name}`);
        counts[name] = (counts[name] ?? 0) + 1;
        return handler(taskInput, counts[name]);
      };
    }
    if (s.Type === 'Wait') waits[name] = 1;
  }
  context = context ?? defaultContext(input);
  const localized = localizeJsonata(definition, context);
  definition = localized.definition;
  Object.assign(local, localized.handlers);
  const sm = new StateMachine(definition);
  const execution = sm.run(input, {
    overrides: {
      taskResourceLocalHandlers: local,
      waitTimeOverrides: waits,
      retryIntervalOverrides: retries,
    },
    context,
  });
  const events = [];
  const collect = (async () => {
    for await (const e of execution.eventLogs) events.push(e);
  })();
  let status = 'SUCCEEDED';
  let output;
  let error;
  try {
    output = await execution.result;
  } catch (e) {
    status = 'FAILED';
    error = e.cause ?? e;
  }
  await collect;
  const missing = calls.find((c) => !handlers[c.state]);
  if (missing) throw new Error(`test harness: no handler for Task state ${missing.state}`);
  return { status, output, error, calls, events, states: calls.map((c) => c.state), jsonata: localized.replaced };
}

/** A Context Object with the fields the runbooks read. */
export const START_TIME = '2026-01-01T12:00:00.000Z';
export function defaultContext(input, startTime = START_TIME) {
  return {
    Execution: {
      Id: 'arn:aws:states:us-east-1:123456789012:execution:runbook:test-1',
      Name: 'test-1',
      StartTime: startTime,
      Input: input,
    },
  };
}

/** Names of the states entered, in order (from the event log). */
export function entered(result) {
  return result.events.filter((e) => e.type === 'StateEntered').map((e) => e.state.name);
}

/** Number of retries recorded for a state. */
export function retriesOf(result, stateName) {
  return result.events.filter((e) => e.type === 'StateRetried' && e.state.name === stateName).length;
}
