import { peerIdFromString } from '@libp2p/peer-id'
import { SHARE_ID_PATTERN } from '../core/share.ts'
import type { ShareRepository } from '../store/shares.ts'
import { EVIDENCE_PROTOCOL, MAX_CONTROL_FRAME_BYTES } from './constants.ts'
import { EvidenceNotReadyError, FrameMalformedError, NotShareRecipientError } from './errors.ts'
import { decodeMessage, encodeMessage, frameStream, refusalFrom } from './framing.ts'
import {
  type InboundExchange,
  InboundProtocol,
  type InboundProtocolComponents,
  type ProtocolInit
} from './inbound-stream.ts'
import type { TrafficStats } from './stats.ts'

/**
 * What the p2p layer needs of the audit trail to answer evidence requests (node/audit implements
 * it; wired in node/main.ts): the evidence entry of a share this node sent to `requester`, as its
 * own evidence bundle holds it (a JSON value), or undefined while the share's record is not
 * confirmed on chain.
 */
export interface P2pEvidence {
  evidenceOf(shareId: string, requester: string, options: { signal: AbortSignal }): Promise<unknown>
}

/** What the evidence protocol needs. */
export interface EvidenceProtocolComponents extends InboundProtocolComponents {
  readonly shares: Pick<ShareRepository, 'get'>
  /** Without it this node answers every request as not ready. */
  readonly evidence?: P2pEvidence | undefined
  readonly stats: TrafficStats
}

/** Settings of the evidence protocol (all optional). */
export type EvidenceProtocolInit = ProtocolInit

export type { EvidenceProtocol }

/**
 * `/dmn/evidence/1.0.0`: a share's recipient asks its sender `{v:1, shareId}` for the sender's
 * evidence entry of that share (docs/AUDIT.md, "Inbound shares"): the share record with the
 * sender's queue time, the anchors of the record and of the receipt, and for a batched share their
 * inclusion proofs, which only the sender can compute. The answer is `{v:1, ok:true, entry}`, or a
 * refusal: `NotShareRecipientError` when this node sent no such share to the asking peer (the
 * same refusal for "not found" and "not yours"), `EvidenceNotReadyError` while the record is not on
 * chain. Nothing in the entry is trusted by the asker: its evidence check recomputes or looks up
 * every value.
 */
class EvidenceProtocol extends InboundProtocol {
  readonly name = 'evidence-protocol'
  readonly #components: EvidenceProtocolComponents

  constructor(components: EvidenceProtocolComponents, init: EvidenceProtocolInit) {
    super(components, init, { protocol: EVIDENCE_PROTOCOL, maxRequestBytes: MAX_CONTROL_FRAME_BYTES })
    this.#components = components
  }

  /** Sender side: the entry, only to the share's recipient. */
  protected async serve({ remote, signal, frames }: InboundExchange): Promise<void> {
    const { shares, evidence, stats } = this.#components
    const request = decodeMessage(await frames.read({ signal }))
    stats.recordIn(frames.bytesRead)
    const shareId = request['shareId']
    if (typeof shareId !== 'string' || !SHARE_ID_PATTERN.test(shareId))
      throw new FrameMalformedError('evidence request without a valid shareId')
    // The remote PeerId is the one Noise authenticated: only the share's recipient learns its evidence.
    const share = shares.get(shareId)
    if (share?.direction !== 'out' || share.recipient !== remote)
      throw new NotShareRecipientError('no share with this id was sent to this peer')
    const entry = evidence ? await evidence.evidenceOf(shareId, remote, { signal }) : undefined
    if (entry === undefined) throw new EvidenceNotReadyError('the share is not confirmed on chain yet')
    await frames.write(encodeMessage({ ok: true, entry }), { signal })
    stats.recordOut(frames.bytesWritten)
  }

  /**
   * Recipient side: asks `sender` for its evidence entry of `shareId`. Returns the entry as sent (a
   * JSON value the caller must check); throws the sender's refusal as a RemoteRefusalError.
   */
  async ask(sender: string, shareId: string, options: { signal?: AbortSignal } = {}): Promise<unknown> {
    const { stats } = this.#components
    const timeout = AbortSignal.timeout(this.timeoutMs)
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout
    const stream = await this.libp2p.dialProtocol(peerIdFromString(sender), EVIDENCE_PROTOCOL, { signal })
    const frames = frameStream(stream, MAX_CONTROL_FRAME_BYTES)
    let answer: Record<string, unknown>
    try {
      await frames.write(encodeMessage({ shareId }), { signal })
      answer = decodeMessage(await frames.read({ signal }))
      stats.recordOut(frames.bytesWritten)
      stats.recordIn(frames.bytesRead)
      await stream.close({ signal })
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)))
      throw err
    }
    if (answer['ok'] !== true) {
      const refusal = refusalFrom(answer)
      stats.refusals.countReceived(EVIDENCE_PROTOCOL, refusal.refusal)
      throw refusal
    }
    if (!('entry' in answer)) throw new FrameMalformedError('evidence answer without an entry')
    return answer['entry']
  }
}

/** The evidence protocol, answering recipients from its start and asking senders on demand. */
export function createEvidenceProtocol(
  components: EvidenceProtocolComponents,
  init: EvidenceProtocolInit = {}
): EvidenceProtocol {
  return new EvidenceProtocol(components, init)
}
