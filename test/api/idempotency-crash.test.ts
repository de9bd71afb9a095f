import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { openDatabase } from '../../node/store/database.ts'
import { databasePath } from '../../node/store/store-service.ts'
import { waitFor } from '../audit/helpers.ts'
import { NODE_ENV, NodeProcess, nodePorts } from '../audit/node-process.ts'
import { cleanEnv, waitForExit } from '../helpers/cli.ts'

/**
 * The crash gap of `Idempotency-Key` on the share routes, closed: a node killed (SIGKILL) right
 * after a share's transaction committed and before its HTTP answer was written holds the share and
 * its kept answer, or neither, since both are written by one transaction. After the restart a retry
 * with the same key replays the share, and no second share is made.
 */

const FIXTURE = fileURLToPath(new URL('./fixtures/share-and-die.ts', import.meta.url))
// An address no peer is known by: the share waits `unresolved`, and no second node is needed.
const RECIPIENT = '0x00000000000000000000000000000000c0ffee01'

const dirs: string[] = []
const running: { stop(): Promise<unknown> }[] = []
let fixture: ChildProcess | undefined
afterEach(async () => {
  fixture?.kill('SIGKILL')
  fixture = undefined
  for (const node of running.splice(0).reverse()) await node.stop()
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

/** Starts the fixture; resolves once it logged `node ready`, with its stdout lines so far. */
async function startFixture(env: Record<string, string>): Promise<{ child: ChildProcess; lines: string[] }> {
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', FIXTURE], {
    env: cleanEnv(env),
    stdio: ['ignore', 'pipe', 'pipe']
  })
  fixture = child
  const lines: string[] = []
  let stderr = ''
  let buffer = ''
  child.stdout?.on('data', (chunk) => {
    buffer += String(chunk)
    const parts = buffer.split('\n')
    buffer = parts.pop() ?? ''
    lines.push(...parts)
  })
  child.stderr?.on('data', (chunk) => {
    stderr += String(chunk)
  })
  await waitFor(
    () => {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`the fixture exited before it was ready: ${stderr}`)
      return lines.some((line) => line.includes('"msg":"node ready"'))
    },
    'the fixture node ready',
    120_000
  )
  return { child, lines }
}

function shareRequest(external: string, apiKey: string, body: string): Promise<Response> {
  return fetch(`${external}/share_data`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-api-key': apiKey,
      'idempotency-key': 'crash-between-commit-and-answer'
    },
    body
  })
}

describe('Idempotency-Key across a crash of the node', () => {
  it('keeps the share and its answer together, so the retry after a restart replays it and makes no second share', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dmn-idem-crash-'))
    dirs.push(dir)
    const ports = await nodePorts()
    const env = { ...NODE_ENV, ...ports, DMN_DATA_DIR: join(dir, 'node') }
    const internal = `http://127.0.0.1:${ports['DMN_API_INTERNAL_PORT']}`
    const external = `http://127.0.0.1:${ports['DMN_API_EXTERNAL_PORT']}`
    const { child } = await startFixture(env)

    const created = await fetch(`${internal}/api-keys`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'crash', scopes: ['share', 'read'] })
    })
    expect(created.status).toBe(201)
    const apiKey = ((await created.json()) as { key: string }).key
    const body = JSON.stringify({ data: 'a share whose answer never left the node', recipient: RECIPIENT })

    // The node dies between the share's commit and its answer: the client hears nothing.
    const lost = await shareRequest(external, apiKey, body).then(
      (res) => ({ status: res.status }),
      (err: unknown) => ({ error: err })
    )
    expect(lost).toHaveProperty('error')
    await waitForExit(child)
    expect(child.signalCode).toBe('SIGKILL')
    fixture = undefined

    // On disk: the share, and the answer kept for its key by the same transaction.
    const db = openDatabase(databasePath(env.DMN_DATA_DIR))
    const shares = db.prepare("SELECT share_id FROM shares WHERE direction = 'out'").all() as {
      share_id: string
    }[]
    const kept = db
      .prepare('SELECT status, body FROM idempotency_keys WHERE key = ?')
      .get('crash-between-commit-and-answer') as { status: number; body: Uint8Array } | undefined
    db.close()
    expect(shares).toHaveLength(1)
    const shareId = shares[0]?.share_id
    expect(kept?.status).toBe(201)
    const keptText = Buffer.from(kept?.body ?? []).toString()
    expect(JSON.parse(keptText)).toMatchObject({ success: true, share_id: shareId, recipient: RECIPIENT })

    // Restarted as an operator runs it, the retry gets the first answer, byte for byte.
    const node = new NodeProcess(env)
    running.push(node)
    await node.ready()
    const retry = await shareRequest(external, apiKey, body)
    expect(retry.status).toBe(201)
    expect(retry.headers.get('idempotent-replayed')).toBe('true')
    expect(await retry.text()).toBe(keptText)
    const after = openDatabase(databasePath(env.DMN_DATA_DIR), { readonly: true })
    try {
      expect(after.prepare("SELECT share_id FROM shares WHERE direction = 'out'").all()).toEqual([
        { share_id: shareId }
      ])
    } finally {
      after.close()
    }
  })
})
