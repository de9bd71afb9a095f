import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { SignedReceipt } from '../core/receipt.ts'
import { validateReceiptBody } from '../core/receipt.ts'
import { type ReceiveShareComponents, receiveShare } from '../core/receive-share.ts'
import type { ShareTransport, StoredShare } from '../core/share-ports.ts'
import type { GroupCommit } from '../store/group-commit.ts'
import type { CertificateExchange } from './cert-exchange.ts'
import { MAX_FRAME_BYTES, SHARE_PROTOCOL } from './constants.ts'
import { errorName, FrameMalformedError } from './errors.ts'
import { decodeMessage, encodeMessage, frameStream, refusalFrom } from './framing.ts'
import {
  type InboundExchange,
  InboundProtocol,
  type InboundProtocolComponents,
  type ProtocolInit
} from './inbound-stream.ts'
import type { DmnLibp2p } from './libp2p-node.ts'
import { type AnnouncedLimits, announcedLimitsOf } from './peer-pacing.ts'
import type { TrafficStats } from './stats.ts'

/**
 * `/dmn/share/1.0.0`. The sender writes one frame, the sealed envelope; the receiver checks it
 * (authenticated sender's key, freshness and nonce, size, tier minimum), stores it encrypted under
 * its own key ring, and answers one frame: `{v:1, ok:true, receipt:{body, signature}, limits}` or a
 * typed refusal `{v:1, ok:false, error, message}`; `limits` are the receiver's per-peer inbound
 * limits (on rate refusals too), which the sender paces to (peer-pacing.ts). Receiving is idempotent
 * on the share id: a retry after a lost answer gets the stored receipt again and stores nothing twice.
 */

/**
 * What the share protocol needs: the core's receive use case's ports (node/core/receive-share.ts),
 * the verified keys of the peers that send, and where received shares are announced.
 */
export interface ShareProtocolComponents
  extends InboundProtocolComponents,
    ReceiveShareComponents<StoredShare> {
  readonly certificates: Pick<CertificateExchange, 'ofSender'>
  readonly stats: TrafficStats
  /** The store's group commit, told of each share on its way, so its group waits for it. */
  readonly commits?: Pick<GroupCommit, 'arriving'>
  /** A share was stored here and its receipt signed (after the transaction committed). */
  readonly onReceived: (share: StoredShare, receipt: SignedReceipt) => void
  /** A recipient this node sent to announced its per-peer limits (in its receipt or refusal). */
  readonly onLimits?: (peerId: string, limits: AnnouncedLimits) => void
}

/** Settings of the share protocol (all optional). */
export type ShareProtocolInit = ProtocolInit

export type { ShareProtocol }

/** Takes shares from peers from its start, and sends this node's envelopes (the core's transport). */
class ShareProtocol extends InboundProtocol implements ShareTransport {
  readonly name = 'share-protocol'
  readonly #components: ShareProtocolComponents

  constructor(components: ShareProtocolComponents, init: ShareProtocolInit) {
    super(components, init, { protocol: SHARE_PROTOCOL, refusalStats: components.stats })
    this.#components = components
  }

  protected async serve({ remote, signal, frames, release }: InboundExchange): Promise<void> {
    const { stats, limits, certificates, commits, onReceived } = this.#components
    const envelope = await frames.read({ signal })
    stats.recordIn(frames.bytesRead)
    limits.chargeBytes(remote, envelope.byteLength)
    const done = commits?.arriving()
    let received: Awaited<ReturnType<typeof receiveShare>>
    try {
      const sender = await certificates.ofSender(remote, { signal })
      received = await receiveShare(this.#components, sender, envelope)
    } finally {
      done?.()
    }
    const { receipt, stored } = received
    if (stored) onReceived(stored, receipt)
    release()
    await frames.write(encodeMessage({ ok: true, receipt, limits: limits.announced }), { signal })
    stats.recordOut(frames.bytesWritten)
  }

  send(peerId: string, envelope: Uint8Array, options: { signal: AbortSignal }): Promise<SignedReceipt> {
    const { onLimits } = this.#components
    return sendEnvelope(this.libp2p, peerIdFromString(peerId), envelope, {
      signal: options.signal,
      stats: this.#components.stats,
      ...(onLimits ? { onLimits: (limits: AnnouncedLimits) => onLimits(peerId, limits) } : {})
    })
  }
}

/** The share protocol: the receiving side registered at start, the sending side for the delivery worker. */
export function createShareProtocol(
  components: ShareProtocolComponents,
  init: ShareProtocolInit = {}
): ShareProtocol {
  return new ShareProtocol(components, init)
}

/**
 * Sends one envelope and returns the peer's answer: the signed receipt, or RemoteRefusalError with
 * the peer's error name. Every failure aborts the stream. The per-peer limits the answer announces,
 * either way, go to `onLimits`.
 */
export async function sendEnvelope(
  libp2p: DmnLibp2p,
  peer: PeerId,
  envelope: Uint8Array,
  options: { signal: AbortSignal; stats?: TrafficStats; onLimits?: (limits: AnnouncedLimits) => void }
): Promise<SignedReceipt> {
  const stream = await libp2p.dialProtocol(peer, SHARE_PROTOCOL, { signal: options.signal })
  const frames = frameStream(stream, MAX_FRAME_BYTES)
  let answer: Record<string, unknown>
  try {
    await frames.write(envelope, options)
    options.stats?.recordOut(frames.bytesWritten)
    answer = decodeMessage(await frames.read(options))
    options.stats?.recordIn(frames.bytesRead)
    await stream.close(options)
  } catch (err) {
    stream.abort(err instanceof Error ? err : new Error(errorName(err)))
    throw err
  }
  const limits = announcedLimitsOf(answer['limits'])
  if (limits) options.onLimits?.(limits)
  if (answer['ok'] !== true) {
    const refusal = refusalFrom(answer)
    options.stats?.refusals.countReceived(SHARE_PROTOCOL, refusal.refusal)
    throw refusal
  }
  const receipt = answer['receipt'] as SignedReceipt | undefined
  if (!receipt || typeof receipt !== 'object' || typeof receipt.signature !== 'string') {
    throw new FrameMalformedError('share answer without a receipt')
  }
  return { body: validateReceiptBody(receipt.body), signature: receipt.signature }
}
