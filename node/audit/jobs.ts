/**
 * The publisher's units of work: an outbox row sent on its own, a batch, or a security-log head.
 * Each job knows its contract call, how to record that it was sent, confirmed or failed, and how to
 * find its record on chain when the contract says it is there already (after a crash, or when a
 * replacement transaction carried it).
 */
import { TIER_CHAIN_CODE, type Tier } from '../core/share.ts'
import type { Db } from '../store/database.ts'
import { addressTopic, bytes16, bytes32, decodeResult, encodeCall, parseLog, TOPICS } from './contract.ts'
import type { ContractRevertError } from './errors.ts'
import { getLogs } from './event-index.ts'
import { merkleRoot } from './merkle.ts'
import { peerIdHash } from './leaves.ts'
import type { RpcClient, RpcLog } from './rpc-client.ts'
import type { TxSender } from './tx-sender.ts'

export interface JobContext {
  readonly db: Db
  readonly rpc: RpcClient
  readonly sender: TxSender
  readonly contractAddress: string
  readonly deployBlock: number
  readonly signal?: AbortSignal
}

/** What to do after the contract refused a job: it is on chain (`found`), send again, or give up. */
export type Resolution =
  | { kind: 'found'; log: RpcLog }
  | { kind: 'retry' }
  | { kind: 'failed'; reason: string }

export interface Job {
  readonly key: string
  /** Builds the call data (may read the chain, e.g. the batch sequence). */
  data(ctx: JobContext): Promise<string>
  markSent(db: Db, txHash: string, nonce: number): void
  confirm(db: Db, txHash: string, blockNumber: number): void
  /** Back to the queue (transaction dropped, replaced or reverted). */
  reset(db: Db, reason: string): void
  fail(db: Db, reason: string): void
  resolve(ctx: JobContext, err: ContractRevertError): Promise<Resolution>
}

const now = () => new Date().toISOString()

async function findLog(
  ctx: JobContext,
  topics: (string | null)[],
  match: (log: RpcLog) => boolean
): Promise<Resolution> {
  const logs = await getLogs(ctx.rpc, ctx.contractAddress, topics, ctx.deployBlock, { signal: ctx.signal })
  const log = logs.find(match)
  return log
    ? { kind: 'found', log }
    : { kind: 'failed', reason: 'refused as a duplicate but no matching event found' }
}

const argsOf = (log: RpcLog) => parseLog(log)?.args
const same = (a: unknown, b: string) => typeof a === 'string' && a.toLowerCase() === b.toLowerCase()

interface OutboxJobRow {
  id: number
  kind: string
  share_id: string | null
  data_hash: string | null
  payload: string
  leaf: string | null
}

export function outboxJob(row: OutboxJobRow): Job {
  const p = JSON.parse(row.payload) as Record<string, unknown>
  const setState = (db: Db, fields: string, ...values: unknown[]) =>
    db.prepare(`UPDATE outbox SET ${fields}, updated_at = ? WHERE id = ?`).run(...values, now(), row.id)
  return {
    key: `outbox:${row.id}`,
    async data() {
      if (row.kind === 'share') {
        return encodeCall('recordShare', [
          bytes16(String(p['shareId'])),
          bytes32(String(p['dataHash'])),
          bytes32(peerIdHash(String(p['sender']))),
          bytes32(peerIdHash(String(p['recipient']))),
          TIER_CHAIN_CODE[p['tier'] as Tier],
          BigInt(Number(p['timestamp']))
        ])
      }
      if (row.kind === 'receipt') {
        return encodeCall('anchorReceipt', [
          bytes16(String(row.share_id)),
          bytes32(String(row.data_hash)),
          bytes32(String(row.leaf))
        ])
      }
      return encodeCall('registerNode', [
        bytes32(peerIdHash(String(p['peerId']))),
        bytes32(String(p['signingKeyFingerprint']))
      ])
    },
    markSent: (db, txHash, nonce) =>
      setState(db, `state = 'sent', tx_hash = ?, tx_nonce = ?, attempts = attempts + 1`, txHash, nonce),
    confirm: (db, txHash, block) =>
      setState(db, `state = 'confirmed', tx_hash = ?, block_number = ?, last_error = NULL`, txHash, block),
    reset: (db, reason) => setState(db, `state = 'pending', last_error = ?`, reason),
    fail: (db, reason) => setState(db, `state = 'failed', last_error = ?`, reason),
    async resolve(ctx, err) {
      const me = ctx.sender.address
      if (err.errorName === 'AuditTrailDuplicateShare') {
        return findLog(ctx, [TOPICS.ShareRecorded, bytes16(String(row.share_id)).padEnd(66, '0')], (log) => {
          const a = argsOf(log)
          return same(a?.['submitter'], me) && same(a?.['dataHash'], bytes32(String(row.data_hash)))
        })
      }
      if (err.errorName === 'AuditTrailDuplicateReceipt') {
        return findLog(ctx, [TOPICS.ReceiptAnchored, bytes16(String(row.share_id)).padEnd(66, '0')], (log) =>
          same(argsOf(log)?.['receiptHash'], bytes32(String(row.leaf)))
        )
      }
      if (err.errorName === 'AuditTrailNodeAlreadyRegistered') {
        return findLog(ctx, [TOPICS.NodeRegistered, addressTopic(me)], () => true)
      }
      return { kind: 'failed', reason: err.errorName }
    }
  }
}

interface BatchRow {
  id: number
  root: string
  count: number
  first_sequence: number | null
}

export function batchJob(row: BatchRow): Job {
  let firstSequence = row.first_sequence
  const setBatch = (db: Db, fields: string, rowFields: string, ...values: unknown[]) =>
    db.transaction(() => {
      db.prepare(`UPDATE audit_batches SET ${fields}, updated_at = ? WHERE id = ?`).run(
        ...values,
        now(),
        row.id
      )
      db.prepare(`UPDATE outbox SET ${rowFields}, updated_at = ? WHERE batch_id = ?`).run(
        ...values,
        now(),
        row.id
      )
    })()
  return {
    key: `batch:${row.id}`,
    async data(ctx) {
      if (firstSequence === null) {
        const [next] = decodeResult(
          'nextSequence',
          await ctx.sender.call(encodeCall('nextSequence', [ctx.sender.address]), { signal: ctx.signal })
        )
        firstSequence = Number(next)
        ctx.db.prepare('UPDATE audit_batches SET first_sequence = ? WHERE id = ?').run(firstSequence, row.id)
      }
      return encodeCall('anchorBatch', [bytes32(row.root), BigInt(firstSequence), row.count])
    },
    markSent: (db, txHash) =>
      setBatch(
        db,
        `state = 'sent', tx_hash = ?, attempts = attempts + 1`,
        `state = 'sent', tx_hash = ?`,
        txHash
      ),
    confirm: (db, txHash, block) =>
      setBatch(
        db,
        `state = 'confirmed', tx_hash = ?, block_number = ?, last_error = NULL`,
        `state = 'confirmed', tx_hash = ?, block_number = ?, last_error = NULL`,
        txHash,
        block
      ),
    reset: (db, reason) =>
      setBatch(db, `state = 'pending', last_error = ?`, `state = 'pending', last_error = ?`, reason),
    fail: (db, reason) =>
      setBatch(db, `state = 'failed', last_error = ?`, `state = 'failed', last_error = ?`, reason),
    async resolve(ctx, err) {
      if (err.errorName === 'AuditTrailDuplicateBatch') {
        return findLog(
          ctx,
          [TOPICS.BatchAnchored, bytes32(row.root), addressTopic(ctx.sender.address)],
          () => true
        )
      }
      if (err.errorName === 'AuditTrailSequenceMismatch') {
        // Another batch of this account took the sequence first (a shared account); follow the chain.
        firstSequence = Number(err.args[0])
        ctx.db.prepare('UPDATE audit_batches SET first_sequence = ? WHERE id = ?').run(firstSequence, row.id)
        return { kind: 'retry' }
      }
      return { kind: 'failed', reason: err.errorName }
    }
  }
}

/** Forms a batch from the oldest pending leaves; returns its id. Synchronous: one SQLite transaction. */
export function formBatch(db: Db, size: number): number | null {
  return db.transaction(() => {
    const rows = db
      .prepare(
        `SELECT id, leaf FROM outbox WHERE state = 'pending' AND batch_id IS NULL AND kind IN ('share', 'receipt')
         ORDER BY id LIMIT ?`
      )
      .all(size) as { id: number; leaf: string }[]
    if (rows.length === 0) return null
    const root = Buffer.from(merkleRoot(rows.map((r) => Buffer.from(r.leaf, 'hex')))).toString('hex')
    const t = now()
    const id = Number(
      db
        .prepare(
          `INSERT INTO audit_batches (root, count, state, created_at, updated_at) VALUES (?, ?, 'pending', ?, ?)`
        )
        .run(root, rows.length, t, t).lastInsertRowid
    )
    const set = db.prepare('UPDATE outbox SET batch_id = ?, leaf_index = ?, updated_at = ? WHERE id = ?')
    for (const [i, r] of rows.entries()) set.run(id, i, t, r.id)
    return id
  })()
}

interface AnchorRow {
  seq: number
  head: string
}

export function logHeadJob(row: AnchorRow): Job {
  const set = (db: Db, fields: string, ...values: unknown[]) =>
    db
      .prepare(`UPDATE security_log_anchors SET ${fields}, updated_at = ? WHERE seq = ?`)
      .run(...values, now(), row.seq)
  return {
    key: `log:${row.seq}`,
    data: async () => encodeCall('anchorLogHead', [BigInt(row.seq), bytes32(row.head)]),
    markSent: (db, txHash) => set(db, `state = 'sent', tx_hash = ?`, txHash),
    confirm: (db, txHash, block) =>
      set(db, `state = 'confirmed', tx_hash = ?, block_number = ?`, txHash, block),
    reset: (db) => set(db, `state = 'pending'`),
    // A head the chain will not take (a newer one is anchored) is simply not an anchor.
    fail: (db) => db.prepare('DELETE FROM security_log_anchors WHERE seq = ?').run(row.seq),
    async resolve(ctx, err) {
      if (err.errorName === 'AuditTrailStaleLogHead') {
        const seqTopic = `0x${row.seq.toString(16).padStart(64, '0')}`
        return findLog(ctx, [TOPICS.LogHeadAnchored, addressTopic(ctx.sender.address), seqTopic], (log) =>
          same(argsOf(log)?.['head'], bytes32(row.head))
        )
      }
      return { kind: 'failed', reason: err.errorName }
    }
  }
}

/** Rebuilds the job a persisted transaction belongs to. */
export function jobFromKey(db: Db, key: string): Job | undefined {
  const [kind, id] = key.split(':')
  if (kind === 'outbox') {
    const row = db
      .prepare('SELECT id, kind, share_id, data_hash, payload, leaf FROM outbox WHERE id = ?')
      .get(Number(id))
    return row ? outboxJob(row as OutboxJobRow) : undefined
  }
  if (kind === 'batch') {
    const row = db
      .prepare('SELECT id, root, count, first_sequence FROM audit_batches WHERE id = ?')
      .get(Number(id))
    return row ? batchJob(row as BatchRow) : undefined
  }
  const row = db.prepare('SELECT seq, head FROM security_log_anchors WHERE seq = ?').get(Number(id))
  return row ? logHeadJob(row as AnchorRow) : undefined
}

export type { OutboxJobRow, BatchRow, AnchorRow }
