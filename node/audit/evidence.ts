/** Evidence of audit events as verification returns it, and what the verifiers share. */
import type { AuditRepositories } from '../store/audit-repositories.ts'
import type { BundleCheckReason, ShareCheck } from './bundle-check.ts'
import { hexToNumber, type RpcClient, type RpcLog } from './rpc-client.ts'

export interface VerifyContext {
  /** The local copies of the events (outbox payloads and batches) to check against the chain. */
  readonly repos: Pick<AuditRepositories, 'outbox' | 'batches'>
  readonly rpc: RpcClient
  readonly contractAddress: string
  readonly deployBlock: number
}

export type AuditEventType = 'ShareRecorded' | 'ReceiptAnchored' | 'BatchAnchored'

export interface Evidence {
  readonly event: AuditEventType
  readonly txHash: string
  readonly blockNumber: number
  readonly confirmations: number
  readonly submitter: string | null
  readonly shareId: string | null
  /** Receipt hash (ReceiptAnchored) or leaf (BatchAnchored) as recomputed from the local copy. */
  readonly leaf?: string
  readonly onChainReceiptHash?: string
  readonly root?: string
  readonly leafIndex?: number
  readonly treeSize?: number
  readonly firstSequence?: number
  /** Audit path, bottom up, 64 hex each. */
  readonly proof?: readonly string[]
  /** The canonical receipt or share record the leaf is the hash of. */
  readonly record?: unknown
  readonly ok: boolean
  /** A reason code of the check, when the event does not count. */
  readonly reason?: string
}

export interface VerifyResult {
  readonly verified: boolean
  /** Why not, when not verified: the check's first reason (docs/AUDIT.md, "The check"). */
  readonly reason?: BundleCheckReason
  readonly dataHash: string
  /** Who shared with whom, and whether each share is proven. */
  readonly shares: readonly ShareCheck[]
  /** The strongest kind of record found: a receipt anchored on its own or in a batch, else the share. */
  readonly event_type: AuditEventType | null
  readonly evidence: readonly Evidence[]
}

export type Opts = { signal?: AbortSignal }
export const strip = (h: string) => h.replace(/^0x/, '').toLowerCase()

export async function head(ctx: VerifyContext, opts: Opts): Promise<number> {
  return hexToNumber(await ctx.rpc.call<string>('eth_blockNumber', [], opts))
}

export function base(log: RpcLog, headBlock: number) {
  const blockNumber = hexToNumber(log.blockNumber)
  return { txHash: log.transactionHash, blockNumber, confirmations: headBlock - blockNumber + 1 }
}
