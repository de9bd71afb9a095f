import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** Runs a batch of operations in Debian's Python cryptography (test/crypto/interop/pyca.py). */

export const PYTHON = '/usr/bin/python3'
const SCRIPT = fileURLToPath(new URL('./interop/pyca.py', import.meta.url))

export type PyOp = { op: string } & Record<string, unknown>
export type PyResult = Record<string, unknown> & { error?: string }

export function pyca(ops: readonly PyOp[]): PyResult[] {
  const out = execFileSync(PYTHON, [SCRIPT], {
    input: JSON.stringify({ ops }),
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    timeout: 120_000
  })
  return (JSON.parse(out) as { results: PyResult[] }).results
}

export const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64')
export const unb64 = (s: unknown) => new Uint8Array(Buffer.from(String(s), 'base64'))
