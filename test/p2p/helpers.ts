import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { EventEmitter } from 'node:events'
import { createKeyRing, type KeyRing, openKeyRing } from '../../node/crypto/index.ts'
import { createLogger } from '../../node/log/logger.ts'
import { P2pService } from '../../node/p2p/index.ts'
import type { P2pInit } from '../../node/p2p/index.ts'
import { type Db, openDatabase } from '../../node/store/database.ts'
import { migrate } from '../../node/store/migrations.ts'

/** Real nodes for integration tests: a SQLite file and a key ring in a temp dir, libp2p on 127.0.0.1. */

export const PASSWORD = 'correct horse battery staple'

export interface TestNode {
  readonly dir: string
  readonly db: Db
  readonly keyRing: KeyRing
  readonly p2p: P2pService
  stop(): Promise<void>
}

export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `dmn-${prefix}-`))
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) }
}

/** Key sizes are irrelevant to these tests: 2048-bit keys keep the suite fast. */
export async function keyRingIn(dir: string): Promise<KeyRing> {
  const path = join(dir, 'keyring.json')
  try {
    return await openKeyRing(path, PASSWORD)
  } catch (err) {
    if ((err as Error).name !== 'KeyRingNotFoundError') throw err
    return createKeyRing(path, PASSWORD, { signingKeyBits: 2048, encryptionKeyBits: 2048 })
  }
}

export function testInit(overrides: Partial<P2pInit> = {}): P2pInit {
  return {
    host: '127.0.0.1',
    port: 0,
    bootstrap: [],
    maxConnections: 50,
    trust: 'pin',
    allowlist: [],
    caCertificatePems: [],
    streamTimeoutMs: 10_000,
    retryBaseMs: 50,
    retryMaxMs: 500,
    shareExpiryMs: 10 * 60_000,
    healthIntervalMs: 60_000,
    deliveryConcurrency: 8,
    replayWindowSeconds: 300,
    limits: { messagesPerSecond: 1_000, bytesPerSecond: 64 * 1024 * 1024, concurrentStreams: 16 },
    ...overrides
  }
}

/** Starts a node in `dir` (reusing its database and key ring if present). */
export async function startNode(dir: string, overrides: Partial<P2pInit> = {}): Promise<TestNode> {
  const keyRing = await keyRingIn(dir)
  const db = openDatabase(join(dir, 'node.db'))
  migrate(db)
  const p2p = new P2pService(
    { db: () => db, keyRing: () => keyRing, logger: createLogger({ level: 'silent' }) },
    testInit(overrides)
  )
  await p2p.start()
  return {
    dir,
    db,
    keyRing,
    p2p,
    async stop() {
      await p2p.stop()
      db.close()
    }
  }
}

/** Polls `check` until it returns a value other than undefined/null/false, or fails after the deadline. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  deadlineMs = 30_000
): Promise<T> {
  const end = Date.now() + deadlineMs
  for (;;) {
    const value = await check()
    if (value !== undefined && value !== null && value !== false) return value
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

/** Resolves with the first event of `name` whose payload passes `match`. */
export function nextEvent<T>(
  emitter: EventEmitter,
  name: string,
  match: (payload: T) => boolean = () => true,
  deadlineMs = 30_000
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(name, listener)
      reject(new Error(`no ${name} event within ${deadlineMs} ms`))
    }, deadlineMs)
    const listener = (payload: T) => {
      if (!match(payload)) return
      clearTimeout(timer)
      emitter.off(name, listener)
      resolve(payload)
    }
    emitter.on(name, listener)
  })
}
