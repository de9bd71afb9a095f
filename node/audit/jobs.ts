/**
 * The publisher's units of work: an outbox row sent on its own, a batch, or a security-log head.
 * Each job knows its contract call and how to record that it was sent, confirmed or failed. The
 * contract refuses no repeat (it keeps no first-come state), so a job is published once by its
 * nonce: every transaction of a job carries the same nonce until one is mined.
 */
import type { AuditRepositories } from '../store/audit-repositories.ts'
import type { BatchRow } from '../store/audit-batches.ts'
import type { OutboxJobRow } from '../store/outbox.ts'
import type { AnchorRow } from '../store/security-log.ts'
import { addressTopic, bytes16, bytes32, encodeCall, parseLog, shareIdTopic, TOPICS } from './contract.ts'
import type { ContractRevertError } from './errors.ts'
import { getLogs } from './event-index.ts'
import { merkleRoot } from './merkle.ts'
import { peerIdHash } from './leaves.ts'
import type { RpcClient, RpcLog } from './rpc-client.ts'
import type { TxSender } from './tx-sender.ts'

export interface JobContext {
  readonly rpc: RpcClient
  readonly sender: TxSender
  readonly contractAddress: string
  readonly deployBlock: number
  readonly signal?: AbortSignal
}

/** An outbox entry the chain confirmed, as announced to the node's observers. */
export interface ConfirmedEntry {
  readonly kind: string
  readonly shareId: string | null
  readonly dataHash: string | null
  readonly txHash: string
}

/** What to do after the contract refused a job: it is on chain (`found`), send again, or give up. */
export type Resolution =
  | { kind: 'found'; log: RpcLog }
  | { kind: 'retry' }
  | { kind: 'failed'; reason: string }

/**
 * A unit of work bound to the repositories it records its state in. The state changes are
 * synchronous, so the publisher runs them inside its own transactions (with the chain_txs row).
 */
export interface Job {
  readonly key: string
  /** Builds the call data (may read the chain, e.g. the batch sequence). */
  data(ctx: JobContext): Promise<string>
  markSent(txHash: string, nonce: number): void
  /** Records the confirmation; returns the outbox entries it confirmed (none for a log head). */
  confirm(txHash: string, blockNumber: number): ConfirmedEntry[]
  /** Back to the queue (transaction dropped, replaced or reverted). */
  reset(reason: string): void
  fail(reason: string): void
  resolve(ctx: JobContext, err: ContractRevertError): Promise<Resolution>
  /**
   * This job's event as the node's own account already published it, if the chain has one. Asked
   * only when the account has sent transactions the node has no record of (a database restored
   * from a backup): nonces alone cannot tell then what was published.
   */
  findOnChain?(ctx: JobContext): Promise<RpcLog | undefined>
}

async function findLog(
  ctx: JobContext,
  topics: (string | null)[],
  match: (log: RpcLog) => boolean
): Promise<Resolution> {
  const log = await findOwnLog(ctx, topics, match)
  return log
    ? { kind: 'found', log }
    : { kind: 'failed', reason: 'refused as a duplicate but no matching event found' }
}

async function findOwnLog(
  ctx: JobContext,
  topics: (string | null)[],
  match: (log: RpcLog) => boolean
): Promise<RpcLog | undefined> {
  const logs = await getLogs(ctx.rpc, ctx.contractAddress, topics, ctx.deployBlock, { signal: ctx.signal })
  return logs.find(match)
}

const argsOf = (log: RpcLog) => parseLog(log)?.args
const same = (a: unknown, b: string) => typeof a === 'string' && a.toLowerCase() === b.toLowerCase()

/**
 * The contract call of an outbox row's event. Synchronous (it reads nothing): a share's record is
 * signed inside the SQLite transaction that accepts the share.
 */
export function outboxCallData(row: OutboxJobRow): string {
  const p = JSON.parse(row.payload) as Record<string, unknown>
  if (row.kind === 'share') {
    return encodeCall('recordShare', [
      bytes16(String(p['shareId'])),
      bytes32(String(p['dataHash'])),
      bytes32(peerIdHash(String(p['recipient']))),
      bytes32(String(row.leaf))
    ])
  }
  if (row.kind === 'receipt') {
    return encodeCall('anchorReceipt', [bytes16(String(row.shareId)), bytes32(String(row.leaf))])
  }
  const record = String(p['record'])
  return encodeCall('registerNode', [
    bytes32(peerIdHash(String(p['peerId']))),
    new TextEncoder().encode(record)
  ])
}

/**
 * A `recordShare` call whose every argument byte is non-zero: calldata at its dearest (16 gas a
 * non-zero byte, 4 a zero one). The contract's work is the same for every share, so its estimate
 * bounds the gas of any share's record.
 */
export const DEAREST_RECORD_SHARE = encodeCall('recordShare', [
  bytes16('ff'.repeat(16)),
  bytes32('ff'.repeat(32)),
  bytes32('ff'.repeat(32)),
  bytes32('ff'.repeat(32))
])

/** An `anchorReceipt` call at its dearest, as `DEAREST_RECORD_SHARE` (the contract only emits its event). */
export const DEAREST_ANCHOR_RECEIPT = encodeCall('anchorReceipt', [
  bytes16('ff'.repeat(16)),
  bytes32('ff'.repeat(32))
])

export function outboxJob(repos: Pick<AuditRepositories, 'outbox'>, row: OutboxJobRow): Job {
  const { outbox } = repos
  return {
    key: `outbox:${row.id}`,
    data: async () => outboxCallData(row),
    markSent: (txHash, nonce) => outbox.markSent(row.id, txHash, nonce),
    confirm(txHash, block) {
      outbox.markConfirmed(row.id, txHash, block)
      return [{ kind: row.kind, shareId: row.shareId, dataHash: row.dataHash, txHash }]
    },
    reset: (reason) => outbox.markPending(row.id, reason),
    fail: (reason) => outbox.markFailed(row.id, reason),
    // The contract refuses only malformed calls (zero hashes, an empty record): nothing to find.
    resolve: async (_ctx, err) => ({ kind: 'failed', reason: err.errorName }),
    async findOnChain(ctx) {
      if (row.kind === 'node' || row.shareId === null) return undefined
      const event = row.kind === 'share' ? TOPICS.ShareRecorded : TOPICS.ReceiptAnchored
      const key = row.kind === 'share' ? 'leaf' : 'receiptHash'
      return findOwnLog(ctx, [event, shareIdTopic(row.shareId)], (log) => {
        const a = argsOf(log)
        return same(a?.['submitter'], ctx.sender.address) && same(a?.[key], bytes32(String(row.leaf)))
      })
    }
  }
}

export function batchJob(repos: Pick<AuditRepositories, 'batches'>, row: BatchRow): Job {
  const { batches } = repos
  let firstSequence = row.firstSequence
  return {
    key: `batch:${row.id}`,
    async data() {
      // The contract keeps no sequence: it numbers the node's leaves for readers, from its own batches.
      if (firstSequence === null) {
        firstSequence = batches.nextSequence()
        batches.setFirstSequence(row.id, firstSequence)
      }
      return encodeCall('anchorBatch', [bytes32(row.root), BigInt(firstSequence), row.count])
    },
    markSent: (txHash) => batches.markSent(row.id, txHash),
    confirm(txHash, block) {
      batches.markConfirmed(row.id, txHash, block)
      return batches.entriesOf(row.id).map((e) => ({ ...e, txHash }))
    },
    reset: (reason) => batches.markPending(row.id, reason),
    fail: (reason) => batches.markFailed(row.id, reason),
    resolve: async (_ctx, err) => ({ kind: 'failed', reason: err.errorName })
  }
}

export function formBatch(repos: Pick<AuditRepositories, 'batches'>, size: number): number | null {
  return repos.batches.form(size, (leaves) =>
    Buffer.from(merkleRoot(leaves.map((leaf) => Buffer.from(leaf, 'hex')))).toString('hex')
  )
}

export function logHeadJob(repos: Pick<AuditRepositories, 'securityLog'>, row: AnchorRow): Job {
  const log = repos.securityLog
  return {
    key: `log:${row.seq}`,
    data: async () => encodeCall('anchorLogHead', [BigInt(row.seq), bytes32(row.head)]),
    markSent: (txHash) => log.markAnchorSent(row.seq, txHash),
    confirm(txHash, block) {
      log.markAnchorConfirmed(row.seq, txHash, block)
      return []
    },
    reset: () => log.markAnchorPending(row.seq),
    // A head the chain will not take (a newer one is anchored) is simply not an anchor.
    fail: () => log.deleteAnchor(row.seq),
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
export function jobFromKey(repos: AuditRepositories, key: string): Job | undefined {
  const [kind, id] = key.split(':')
  if (kind === 'outbox') {
    const row = repos.outbox.jobRow(Number(id))
    return row ? outboxJob(repos, row) : undefined
  }
  if (kind === 'batch') {
    const row = repos.batches.get(Number(id))
    return row ? batchJob(repos, row) : undefined
  }
  const row = repos.securityLog.anchor(Number(id))
  return row ? logHeadJob(repos, row) : undefined
}
