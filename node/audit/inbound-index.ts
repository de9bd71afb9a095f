/**
 * The recipient's index of the chain (docs/AUDIT.md, "Every party sees the trail"). A share this
 * node received is anchored by its sender, so the recipient reads what names it: `ShareRecorded`
 * logs whose `recipientHash` is SHA-256 of its own PeerId, and the `ReceiptAnchored` logs of the
 * shares it received, by topic filters from where it stopped. It then attributes each such event to
 * its inbound share only when the event matches what the recipient holds (data hash and recipient
 * of the share, the hash of the receipt it signed) and its submitter is an account bound to the
 * share's sender by a valid identity record. An event from any other account stays unattributed:
 * indexed, but never evidence of the share, never shown in its history or audit state.
 */
import { validateReceiptBody } from '../core/receipt.ts'
import type { AuditRepositories } from '../store/audit-repositories.ts'
import type { Attribution, InboundCandidate } from '../store/inbound-audit.ts'
import { INBOUND_MAX_OUTSTANDING, INBOUND_TOPIC_BATCH } from './constants.ts'
import { bytes32, shareIdTopic, TOPICS } from './contract.ts'
import { getLogs, indexLogs } from './event-index.ts'
import { peerIdHash, receiptLeaf } from './leaves.ts'
import { hexToNumber, type RpcClient, type RpcLog } from './rpc-client.ts'

type Opts = { signal?: AbortSignal }

/** The Ethereum accounts (any case) that valid identity records bind to a PeerId. */
export type BoundAccounts = (peerId: string, opts: Opts) => Promise<readonly string[]>

export interface InboundIndexContext {
  readonly repos: AuditRepositories
  readonly rpc: RpcClient
  readonly contractAddress: string
  readonly deployBlock: number
  /** This node's PeerId: the recipient the events must name. */
  readonly selfPeerId: string
  readonly boundAccounts: BoundAccounts
  /** Blocks on top of an event's block before it is indexed (as the full index). */
  readonly confirmations: number
}

/** What one round did: logs newly indexed, events newly attributed to inbound shares. */
export interface InboundSyncResult {
  readonly indexed: number
  readonly attributed: number
}

/** Reads the new blocks for events naming this node, then attributes what it holds. */
export async function syncInbound(ctx: InboundIndexContext, opts: Opts = {}): Promise<InboundSyncResult> {
  const { repos } = ctx
  // The head before the share ids: a receipt anchored by that head names a share stored before it.
  const head =
    hexToNumber(await ctx.rpc.call<string>('eth_blockNumber', [], opts)) - Math.max(0, ctx.confirmations - 1)
  const indexedTo = repos.chainState.inboundIndexedBlock()
  const from = indexedTo !== undefined ? indexedTo + 1 : ctx.deployBlock
  let indexed = 0
  if (from <= head) {
    const range = { ...opts, toBlock: head }
    const logs: RpcLog[] = await getLogs(
      ctx.rpc,
      ctx.contractAddress,
      [TOPICS.ShareRecorded, null, null, bytes32(peerIdHash(ctx.selfPeerId))],
      from,
      range
    )
    const waiting = repos.inbound.outstandingShareIds({
      since: new Date(0).toISOString(),
      limit: INBOUND_MAX_OUTSTANDING
    })
    for (let i = 0; i < waiting.length; i += INBOUND_TOPIC_BATCH) {
      const ids = waiting.slice(i, i + INBOUND_TOPIC_BATCH).map(shareIdTopic)
      logs.push(...(await getLogs(ctx.rpc, ctx.contractAddress, [TOPICS.ReceiptAnchored, ids], from, range)))
    }
    indexed = repos.transaction(() => {
      const added = indexLogs(repos, logs)
      repos.chainState.setInboundIndexedBlock(head)
      return added
    })
  }
  return { indexed, attributed: await attributeInbound(ctx, opts) }
}

/**
 * Attributes the indexed, unattributed events of inbound shares whose content matches and whose
 * submitter is bound to the share's sender (events the full index took in count as well).
 */
export async function attributeInbound(
  ctx: Pick<InboundIndexContext, 'repos' | 'boundAccounts'>,
  opts: Opts = {}
): Promise<number> {
  const candidates = ctx.repos.inbound.candidates()
  if (candidates.length === 0) return 0
  const accounts = new Map<string, ReadonlySet<string>>()
  const found: Attribution[] = []
  for (const c of candidates) {
    let bound = accounts.get(c.sender)
    if (!bound) {
      bound = new Set((await ctx.boundAccounts(c.sender, opts)).map((a) => a.toLowerCase()))
      accounts.set(c.sender, bound)
    }
    const timestampMs = matches(c)
    if (timestampMs === undefined || !bound.has((c.submitter ?? '').toLowerCase())) continue
    found.push({
      txHash: c.txHash,
      logIndex: c.logIndex,
      dataHash: c.dataHash,
      sender: c.sender,
      recipient: c.recipient,
      senderHash: peerIdHash(c.sender),
      recipientHash: peerIdHash(c.recipient),
      tier: c.tier,
      timestampMs
    })
  }
  return ctx.repos.transaction(() => found.filter((a) => ctx.repos.inbound.attribute(a)).length)
}

/**
 * Whether the event says what the recipient holds: the share record's data hash and recipient, or
 * the hash of the receipt this node signed. Returns the time to show (when this node received the
 * share), undefined when the event does not match.
 */
function matches(c: InboundCandidate): number | undefined {
  if (!c.receipt) return undefined
  const body = validateReceiptBody(
    (JSON.parse(Buffer.from(c.receipt).toString('utf8')) as { body: unknown }).body
  )
  if (body.shareId !== c.shareId) return undefined
  if (c.eventName === 'ShareRecorded') {
    const ok = c.eventDataHash === c.dataHash && c.eventRecipientHash === peerIdHash(c.recipient)
    return ok ? body.receivedAt : undefined
  }
  return c.receiptHash === receiptLeaf(body) ? body.receivedAt : undefined
}
