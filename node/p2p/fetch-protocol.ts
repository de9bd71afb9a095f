import type { PeerId } from '@libp2p/interface'
import { dataHashOf } from '../core/accept-share.ts'
import { DATA_HASH_PATTERN } from '../core/share.ts'
import { openEnvelope, type ReplayGuard } from '../crypto/index.ts'
import type { RecordRepository } from '../store/records.ts'
import type { ShareRepository } from '../store/shares.ts'
import type { CertificateExchange } from './cert-exchange.ts'
import { FETCH_PROTOCOL, MAX_CONTROL_FRAME_BYTES, MAX_FRAME_BYTES } from './constants.ts'
import { errorName, FrameMalformedError, RecordNotFoundError, SenderMismatchError } from './errors.ts'
import { decodeMessage, encodeMessage, frameStream, refusalFrom } from './framing.ts'
import {
  type InboundExchange,
  InboundProtocol,
  type InboundProtocolComponents,
  type ProtocolInit
} from './inbound-stream.ts'
import { envelopeSealerOf, type NodeKeys } from './share-adapters.ts'
import type { TrafficStats } from './stats.ts'

/** What the fetch protocol needs. */
export interface FetchProtocolComponents extends InboundProtocolComponents {
  readonly keys: NodeKeys
  readonly records: Pick<RecordRepository, 'read' | 'put'>
  readonly shares: Pick<ShareRepository, 'findOutgoingTo'>
  readonly certificates: Pick<CertificateExchange, 'ensure' | 'ofSender'>
  readonly replayGuard: ReplayGuard
  readonly stats: TrafficStats
}

/** Settings of the fetch protocol (all optional). */
export type FetchProtocolInit = ProtocolInit

export type { FetchProtocol }

/**
 * `/dmn/fetch/1.0.0`: a node that sent a share serves its data again, by data hash, to that share's
 * recipient and nobody else. Request `{v:1, dataHash}`; answer `{v:1, ok:true}` followed by a fresh
 * envelope sealed for the requester (so the data is end-to-end encrypted and signed as a share is),
 * or a refusal. "Not found" and "not yours" are the same refusal, so a peer learns nothing.
 */
class FetchProtocol extends InboundProtocol {
  readonly name = 'fetch-protocol'
  readonly #components: FetchProtocolComponents
  readonly #sealer

  constructor(components: FetchProtocolComponents, init: FetchProtocolInit) {
    // The request is a small control frame; only the answer carries an envelope.
    super(components, init, { protocol: FETCH_PROTOCOL, maxRequestBytes: MAX_CONTROL_FRAME_BYTES })
    this.#components = components
    this.#sealer = envelopeSealerOf(components.keys)
  }

  protected async serve({ remote, signal, frames }: InboundExchange): Promise<void> {
    const { stats, certificates, shares, records, limits, keys } = this.#components
    const request = decodeMessage(await frames.read({ signal }))
    stats.recordIn(frames.bytesRead)
    const dataHash = request['dataHash']
    if (typeof dataHash !== 'string' || !DATA_HASH_PATTERN.test(dataHash)) {
      throw new FrameMalformedError('fetch request without a valid dataHash')
    }
    const peer = await certificates.ofSender(remote, { signal })
    const share = shares.findOutgoingTo(dataHash, remote)
    const plaintext = share ? records.read(dataHash) : undefined
    if (!share || !plaintext) throw new RecordNotFoundError('no share of this data for this peer')
    const envelope = await this.#sealer.seal(
      { shareId: share.shareId, sender: keys.selfPeerId, recipient: remote, tier: share.tier },
      plaintext,
      peer
    )
    limits.chargeBytes(remote, envelope.byteLength)
    await frames.write(encodeMessage({ ok: true }), { signal })
    await frames.write(envelope, { signal })
    stats.recordOut(frames.bytesWritten)
  }

  /** Asks `peer` for the data of `dataHash`; verifies, decrypts and stores it locally. */
  async fetch(peer: PeerId, dataHash: string, options: { signal?: AbortSignal } = {}): Promise<Uint8Array> {
    const { stats, certificates, records, keys, replayGuard } = this.#components
    const timeout = AbortSignal.timeout(this.timeoutMs)
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout
    const remote = peer.toString()
    const sender = await certificates.ensure(remote, { signal })
    const stream = await this.libp2p.dialProtocol(peer, FETCH_PROTOCOL, { signal })
    const frames = frameStream(stream, MAX_FRAME_BYTES)
    let envelope: Uint8Array
    try {
      await frames.write(encodeMessage({ dataHash }), { signal })
      const answer = decodeMessage(await frames.read({ signal }))
      if (answer['ok'] !== true) {
        const refusal = refusalFrom(answer)
        stats.refusals.countReceived(FETCH_PROTOCOL, refusal.refusal)
        throw refusal
      }
      envelope = await frames.read({ signal })
      stats.recordOut(frames.bytesWritten)
      stats.recordIn(frames.bytesRead)
      await stream.close({ signal })
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(errorName(err)))
      throw err
    }
    const { header, plaintext } = openEnvelope(envelope, {
      senderSigningPublicKeyPem: sender.signingPublicKeyPem,
      recipientEncryptionPrivateKeyPem: keys.encryptionPrivateKeyPem,
      expectedRecipient: keys.selfPeerId,
      replayGuard,
      maxBytes: MAX_FRAME_BYTES
    })
    if (header.sender !== remote) throw new SenderMismatchError('fetched envelope names another sender')
    if (dataHashOf(plaintext) !== dataHash)
      throw new FrameMalformedError('fetched data does not match its hash')
    records.put(plaintext, dataHash)
    return plaintext
  }
}

/** The fetch protocol, serving this node's shares again from its start and fetching from peers on demand. */
export function createFetchProtocol(
  components: FetchProtocolComponents,
  init: FetchProtocolInit = {}
): FetchProtocol {
  return new FetchProtocol(components, init)
}
