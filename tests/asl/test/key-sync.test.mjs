import '../lib/polyfill.mjs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadDefinition, run, awsError, defaultContext, evaluateJsonata } from '../lib/harness.mjs';

// The key sync of the mocked dev stack: ReadKeySet and ReadJWKSURL
// (ssm:GetParameter) -> DescribeConnection (events) -> FetchJWKS (HTTP
// Task) -> ComputeKeySet (JSONata, evaluated by the harness with the
// jsonata library) -> KeySetChanged -> WriteKeySet (ssm:PutParameter) only
// when the key set changed.
const def = loadDefinition('key-sync');
const param = '/trading/dev/identity/jwks';
const urlParam = '/trading/dev/identity/jwks-url';
const jwksUrl = 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Abc123/.well-known/jwks.json';
const connectionArn = 'arn:aws:events:us-east-1:123456789012:connection/conn-jwks-dev/0b7c3f6e-0000-4000-8000-000000000000';
const placeholder = '{"keys":[]}';
const T0 = '2026-01-01T12:00:00.000Z';
const at = (minutes, seconds = 0) => new Date(Date.parse(T0) + minutes * 60000 + seconds * 1000).toISOString();

const key = (kid) => ({ alg: 'RS256', e: 'AQAB', kid, kty: 'RSA', n: `modulus-of-${kid}`, use: 'sig' });
const [A, B, C] = ['kid-a', 'kid-b', 'kid-c'].map(key);

// A Parameter Store stand-in: the value the service would read, and every
// PutParameter the sync made.
function store(value = placeholder) {
  return { value, version: 1, puts: [], fetches: [] };
}

// One scheduled execution at startTime against the store; the JWKS URL
// answers jwks (an object, its JSON text, or an Error to throw).
async function sync(s, jwks, startTime = T0) {
  const input = {};
  const handlers = {
    ReadKeySet: (req) => {
      assert.equal(req.Name, param);
      return { Parameter: { Name: param, Type: 'String', Value: s.value, Version: s.version } };
    },
    ReadJWKSURL: (req) => {
      assert.equal(req.Name, urlParam);
      return { Parameter: { Name: urlParam, Type: 'String', Value: jwksUrl, Version: 1 } };
    },
    DescribeConnection: (req) => {
      assert.equal(req.Name, 'conn-jwks-dev');
      return { Name: req.Name, ConnectionArn: connectionArn, ConnectionState: 'AUTHORIZED' };
    },
    FetchJWKS: (req) => {
      s.fetches.push(req);
      if (jwks instanceof Error) throw jwks;
      return { StatusCode: 200, StatusText: 'OK', Headers: {}, ResponseBody: jwks };
    },
    WriteKeySet: (req) => {
      s.puts.push(req);
      s.value = req.Value;
      s.version += 1;
      return { Version: s.version, Tier: 'Standard' };
    },
  };
  return run(def, input, handlers, { context: defaultContext(input, startTime) });
}
const doc = (s) => JSON.parse(s.value);
const kids = (s) => doc(s).keys.map((k) => k.kid);

test('key sync: the fetch is a GET of the JWKS URL the stack wrote, through the connection; the write replaces the same String parameter', async () => {
  assert.equal(def.States.FetchJWKS.Resource, 'arn:aws:states:::http:invoke');
  const s = store();
  const r = await sync(s, { keys: [A, B] });
  assert.equal(r.status, 'SUCCEEDED', r.error?.message);
  assert.deepEqual(r.states, ['ReadKeySet', 'ReadJWKSURL', 'DescribeConnection', 'FetchJWKS', 'WriteKeySet']);
  assert.deepEqual(s.fetches, [{ ApiEndpoint: jwksUrl, Method: 'GET', Authentication: { ConnectionArn: connectionArn } }]);
  const { Value, ...rest } = s.puts[0];
  assert.deepEqual(rest, { Name: param, Type: 'String', Overwrite: true });
});

test('key sync: the first run from the placeholder writes every key of the JWKS', async () => {
  const s = store();
  const r = await sync(s, { keys: [A, B] });
  assert.equal(r.status, 'SUCCEEDED', r.error?.message);
  assert.equal(s.puts.length, 1);
  assert.deepEqual(doc(s), { keys: [A, B], retired: [] });
});

test('key sync: a JWKS answered as JSON text (content type not JSON) is parsed the same', async () => {
  const s = store();
  const r = await sync(s, JSON.stringify({ keys: [A] }));
  assert.equal(r.status, 'SUCCEEDED', r.error?.message);
  assert.deepEqual(doc(s), { keys: [A], retired: [] });
});

test('key sync: an unchanged JWKS writes nothing', async () => {
  const s = store(JSON.stringify({ keys: [A, B], retired: [] }));
  const r = await sync(s, { keys: [A, B] });
  assert.equal(r.status, 'SUCCEEDED', r.error?.message);
  assert.deepEqual(r.states, ['ReadKeySet', 'ReadJWKSURL', 'DescribeConnection', 'FetchJWKS']);
  assert.equal(s.puts.length, 0);
  assert.equal(r.jsonata.ComputeKeySet.next.changed, false);
  // The same keys listed in another order are the same set.
  const again = await sync(s, { keys: [B, A] });
  assert.equal(again.status, 'SUCCEEDED');
  assert.equal(s.puts.length, 0);
});

test('key sync: a new key is written with the keys already there', async () => {
  const s = store(JSON.stringify({ keys: [A, B], retired: [] }));
  const r = await sync(s, { keys: [A, B, C] });
  assert.equal(r.status, 'SUCCEEDED', r.error?.message);
  assert.equal(s.puts.length, 1);
  assert.deepEqual(doc(s), { keys: [A, B, C], retired: [] });
});

test('key sync: a key the JWKS drops stays 60 + 1 minutes from the run that first missed it, then goes', async () => {
  const s = store(JSON.stringify({ keys: [A, B], retired: [] }));
  // Cognito rotates: A leaves the JWKS, C arrives.
  let r = await sync(s, { keys: [B, C] }, T0);
  assert.equal(r.status, 'SUCCEEDED', r.error?.message);
  assert.deepEqual(doc(s), { keys: [B, C, A], retired: [{ kid: 'kid-a', missingSince: T0 }] });
  assert.equal(s.puts.length, 1);
  // Every later run keeps A with the time it was first missed, and writes nothing.
  for (const m of [1, 30, 60, 61]) {
    r = await sync(s, { keys: [B, C] }, at(m));
    assert.equal(r.status, 'SUCCEEDED', r.error?.message);
    assert.deepEqual(kids(s), ['kid-b', 'kid-c', 'kid-a'], `at +${m} min`);
    assert.equal(s.puts.length, 1, `no write at +${m} min`);
  }
  // Older than the token lifetime (60 min) plus the service refresh (1 min): removed.
  r = await sync(s, { keys: [B, C] }, at(61, 1));
  assert.equal(r.status, 'SUCCEEDED', r.error?.message);
  assert.deepEqual(doc(s), { keys: [B, C], retired: [] });
  assert.equal(s.puts.length, 2);
  // And nothing more after that.
  await sync(s, { keys: [B, C] }, at(90));
  assert.equal(s.puts.length, 2);
});

test('key sync: a retired key the JWKS lists again is current again, no longer retired', async () => {
  const s = store(JSON.stringify({ keys: [B, A], retired: [{ kid: 'kid-a', missingSince: T0 }] }));
  const r = await sync(s, { keys: [A, B] }, at(10));
  assert.equal(r.status, 'SUCCEEDED', r.error?.message);
  assert.deepEqual(doc(s), { keys: [A, B], retired: [] });
});

test('key sync: the JSONata state evaluates as Step Functions would (placeholder, one key)', async () => {
  const out = await evaluateJsonata(def.States.ComputeKeySet.Output,
    { current: { value: placeholder }, fetched: { body: { keys: [A] } } }, defaultContext({}, T0));
  assert.deepEqual(out.next, { valid: true, changed: true, document: JSON.stringify({ keys: [A], retired: [] }), kids: ['kid-a'], retired: [] });
  assert.deepEqual(out.current, { value: placeholder }, 'the input is kept');
});

test('key sync: a failed fetch fails the execution and writes nothing', async () => {
  for (const err of [awsError('States.Http.StatusCode.503'), awsError('States.Http.Socket'), awsError('States.Timeout')]) {
    const s = store(JSON.stringify({ keys: [A, B], retired: [] }));
    const r = await sync(s, err);
    assert.equal(r.status, 'FAILED', err.name);
    assert.equal(r.error.name ?? r.error.error, 'KeySync.FetchFailed');
    assert.equal(r.states.filter((x) => x === 'FetchJWKS').length, 3, 'the GET is tried three times');
    assert.equal(s.puts.length, 0);
    assert.deepEqual(kids(s), ['kid-a', 'kid-b']);
  }
});

test('key sync: a JWKS with no key, or a malformed one, is refused and the parameter keeps its keys', async () => {
  for (const body of [{ keys: [] }, {}, { keys: 'x' }, { keys: [{ kty: 'RSA' }] }, { keys: [A, { kid: 7, kty: 'RSA' }] }, 'null', []]) {
    const s = store(JSON.stringify({ keys: [A, B], retired: [] }));
    const r = await sync(s, body);
    assert.equal(r.status, 'FAILED', JSON.stringify(body));
    assert.equal(r.error.name ?? r.error.error, 'KeySync.InvalidJWKS', JSON.stringify(body));
    assert.equal(s.puts.length, 0);
  }
});

test('key sync: a failed read or write fails the execution', async () => {
  const s = store();
  const input = {};
  let r = await run(def, input, {
    ReadKeySet: () => { throw awsError('Ssm.ParameterNotFoundException'); },
  });
  assert.equal(r.status, 'FAILED');
  assert.equal(r.error.name ?? r.error.error, 'KeySync.ReadFailed');
  r = await run(def, input, {
    ReadKeySet: () => ({ Parameter: { Value: s.value } }),
    ReadJWKSURL: () => ({ Parameter: { Value: jwksUrl } }),
    DescribeConnection: () => ({ ConnectionArn: connectionArn }),
    FetchJWKS: () => ({ StatusCode: 200, ResponseBody: { keys: [A] } }),
    WriteKeySet: () => { throw awsError('Ssm.ParameterMaxVersionLimitExceededException'); },
  });
  assert.equal(r.status, 'FAILED');
  assert.equal(r.error.name ?? r.error.error, 'KeySync.WriteFailed');
  r = await run(def, input, {
    ReadKeySet: () => ({ Parameter: { Value: s.value } }),
    ReadJWKSURL: () => ({ Parameter: { Value: jwksUrl } }),
    DescribeConnection: () => { throw awsError('EventBridge.ResourceNotFoundException'); },
  });
  assert.equal(r.status, 'FAILED');
  assert.equal(r.error.name ?? r.error.error, 'KeySync.ReadFailed');
});
