import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { MalformedBundleError, parseBundle } from './bundle-format.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

// Imports the check in a fresh Node process whose resolve hook refuses the database driver and the
// store: loading the module graph fails if anything in it reaches either.
const PROBE = `
import { registerHooks } from 'node:module'
const loaded = []
registerHooks({
  resolve(specifier, context, next) {
    const r = next(specifier, context)
    if (/better-sqlite3|\\/node\\/store\\//.test(r.url)) throw new Error('the check loads ' + r.url)
    loaded.push(r.url)
    return r
  }
})
const m = await import('./node/audit/bundle-check.ts')
if (typeof m.checkBundle !== 'function') throw new Error('no checkBundle')
process.stdout.write(JSON.stringify(loaded))
`

describe('the bundle check', () => {
  it('loads no database driver and nothing of the store, however deep in its imports', () => {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', PROBE], {
      cwd: ROOT,
      encoding: 'utf8'
    })
    const loaded = JSON.parse(out) as string[]
    // The probe saw the graph: the check's own modules, the receipt and the identity record.
    expect(loaded.some((u) => u.endsWith('/node/audit/bundle-check.ts'))).toBe(true)
    expect(loaded.some((u) => u.endsWith('/node/audit/identity-record.ts'))).toBe(true)
    expect(loaded.some((u) => u.includes('/node/store/'))).toBe(false)
  })

  it('has a probe that fails on a module reaching the store (so the test above can fail)', () => {
    const probe = PROBE.replace("import('./node/audit/bundle-check.ts')", "import('./node/store/outbox.ts')")
    expect(() =>
      execFileSync(process.execPath, ['--input-type=module', '-e', probe], { cwd: ROOT, stdio: 'pipe' })
    ).toThrow(/the check loads .*node\/store\/outbox\.ts/)
  })

  it('reads only bundles in exactly the documented form', () => {
    expect(() => parseBundle('{}')).toThrow(MalformedBundleError)
    expect(() => parseBundle({ v: 1, kind: 'dmn-evidence-bundle' })).toThrow(MalformedBundleError)
    const minimal = {
      v: 1,
      kind: 'dmn-evidence-bundle',
      dataHash: 'ab'.repeat(32),
      chain: { chainId: 1, contract: `0x${'cd'.repeat(20)}`, genesisHash: `0x${'ef'.repeat(32)}` },
      identities: [],
      shares: []
    }
    expect(parseBundle(minimal)).toBe(minimal)
    expect(() => parseBundle({ ...minimal, extra: 1 })).toThrow(MalformedBundleError)
    // As text, it must be the canonical text: the same values with a space are refused.
    const text = JSON.stringify(minimal)
    expect(parseBundle(text)).toEqual(minimal)
    expect(parseBundle(`${text}\n`)).toEqual(minimal)
    expect(() => parseBundle(JSON.stringify(minimal, null, 1))).toThrow(MalformedBundleError)
    expect(() =>
      parseBundle({ ...minimal, chain: { ...minimal.chain, contract: `0x${'CD'.repeat(20)}` } })
    ).toThrow(MalformedBundleError)
  })
})
