import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Wallet } from 'ethers'
import pino from 'pino'
import type { Logger } from '../../node/log/logger.ts'
import { configSchema } from '../../config/schema.ts'
import type { SignedReceipt } from '../../node/core/receipt.ts'
import type { Tier } from '../../node/core/share.ts'
import {
  AuditService,
  deployAuditTrail,
  onReceiptStored,
  onShareQueued,
  type ShareEvent
} from '../../node/audit/index.ts'
import { RpcClient, toHex } from '../../node/audit/rpc-client.ts'
import { auditRepositories } from '../../node/store/audit-repositories.ts'
import { type Db, openDatabase } from '../../node/store/database.ts'
import { migrate } from '../../node/store/migrations.ts'
import { OutboxRepository } from '../../node/store/outbox.ts'

export const silentLogger = pino({ level: 'silent' })

const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'
/** A PeerId-shaped string (base58btc, as libp2p prints Ed25519 ids). */
export function fakePeerId(): string {
  return `12D3KooW${Array.from(randomBytes(44), (b) => B58[b % 58]).join('')}`
}

export interface TempStore {
  readonly dir: string
  readonly path: string
  readonly db: Db
  cleanup(): void
}

export function tempStore(): TempStore {
  const dir = mkdtempSync(join(tmpdir(), 'dmn-audit-'))
  const path = join(dir, 'node.db')
  const db = openDatabase(path)
  migrate(db)
  return {
    dir,
    path,
    db,
    cleanup() {
      if (db.open) db.close()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

export interface TestShare extends ShareEvent {
  readonly receipt: SignedReceipt
}

/** Inserts a record and an outgoing share, queuing its audit event in the same transaction (as p2p does). */
export function queueShare(
  db: Db,
  opts: { tier?: Tier; sender?: string; recipient?: string; timestamp?: number } = {}
): TestShare {
  const data = randomBytes(64)
  const dataHash = createHash('sha256').update(data).digest('hex')
  const event: ShareEvent = {
    shareId: randomBytes(16).toString('hex'),
    dataHash,
    sender: opts.sender ?? fakePeerId(),
    recipient: opts.recipient ?? fakePeerId(),
    tier: opts.tier ?? 'standard',
    timestamp: opts.timestamp ?? Date.now()
  }
  const t = new Date().toISOString()
  db.transaction(() => {
    const recordId = db
      .prepare(
        'INSERT INTO records (data_hash, key_version, ciphertext, size_bytes, created_at) VALUES (?, 1, ?, ?, ?)'
      )
      .run(dataHash, data, data.length, t).lastInsertRowid
    db.prepare(
      `INSERT INTO shares (share_id, direction, record_id, data_hash, sender, recipient, tier, state, created_at, updated_at)
       VALUES (?, 'out', ?, ?, ?, ?, ?, 'queued', ?, ?)`
    ).run(event.shareId, recordId, dataHash, event.sender, event.recipient, event.tier, t, t)
    onShareQueued(new OutboxRepository(db), event)
  })()
  const receipt: SignedReceipt = {
    body: {
      v: 1,
      shareId: event.shareId,
      dataHash,
      sender: event.sender,
      recipient: event.recipient,
      tier: event.tier,
      receivedAt: event.timestamp + 5
    },
    signature: randomBytes(32).toString('base64')
  }
  return { ...event, receipt }
}

/** Stores the receipt of a share and queues its anchor in one transaction. */
export function storeReceipt(db: Db, share: TestShare): void {
  db.transaction(() => {
    db.prepare(`UPDATE shares SET state = 'delivered', receipt = ? WHERE share_id = ?`).run(
      Buffer.from(JSON.stringify(share.receipt)),
      share.shareId
    )
    onReceiptStored(new OutboxRepository(db), share.receipt)
  })()
}

/** A fresh account funded on the Hardhat node, and a fresh AuditTrail deployed from it. */
export async function freshDeployment(rpcUrl: string) {
  const rpc = new RpcClient({ url: rpcUrl, timeoutMs: 10_000 })
  const wallet = Wallet.createRandom()
  await rpc.call('hardhat_setBalance', [wallet.address, toHex(10n ** 21n)])
  const record = await deployAuditTrail(rpc, new Wallet(wallet.privateKey))
  return { rpc, privateKey: wallet.privateKey, address: wallet.address, record }
}

/** Builds an AuditService against `rpcUrl` with fast polling. */
export function auditService(
  db: Db,
  dataDir: string,
  chain: { rpcUrl: string; privateKey: string; contractAddress: string; fromBlock: number } & Record<
    string,
    unknown
  >,
  logger: Logger = silentLogger
): AuditService {
  const config = configSchema.parse({
    dataDir,
    chain: {
      rpcTimeoutMs: 2_000,
      pollIntervalMs: 25,
      maxBackoffMs: 200,
      batchIntervalSeconds: 3600,
      logAnchorIntervalSeconds: 3600,
      ...chain
    }
  })
  return new AuditService({ repositories: () => auditRepositories(db), logger }, { ...config.chain, dataDir })
}

/** A logger that keeps every line it writes, for tests that look at what the node logged. */
export function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = []
  const logger = pino({ level: 'debug' }, { write: (line: string) => lines.push(JSON.parse(line)) })
  return { logger, lines }
}

/** Polls `check` until it returns true (or throws after `timeoutMs`). */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 20_000
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

export const countState = (db: Db, state: string): number =>
  (db.prepare('SELECT count(*) AS n FROM outbox WHERE state = ?').get(state) as { n: number }).n
