import type { Connection, PeerId, Stream, StreamHandlerOptions } from '@libp2p/interface'
import { DATA_HASH_PATTERN } from '../core/share.ts'
import { keyFingerprint, openEnvelope, type ReplayGuard, sealEnvelope } from '../crypto/index.ts'
import type { RecordRepository } from '../store/records.ts'
import { dataHashOf } from '../core/accept-share.ts'
import type { ShareRepository } from '../store/shares.ts'
import type { CertificateExchange } from './cert-exchange.ts'
import { FETCH_PROTOCOL, MAX_CONTROL_FRAME_BYTES, MAX_FRAME_BYTES } from './constants.ts'
import { errorName, FrameMalformedError, RecordNotFoundError, SenderMismatchError } from './errors.ts'
import { decodeMessage, encodeMessage, frameStream, refusalFrom } from './framing.ts'
import { type InboundStreamInit, serveInboundStream } from './inbound-stream.ts'
import type { InboundLimits } from './limits.ts'
import type { DmnLibp2p } from './libp2p-node.ts'
import type { TrafficStats } from './stats.ts'

/**
 * `/dmn/fetch/1.0.0`: a node that sent a share serves its data again, by data hash, to that share's
 * recipient and nobody else. Request `{v:1, dataHash}`; answer `{v:1, ok:true}` followed by a fresh
 * envelope sealed for the requester (so the data is end-to-end encrypted and signed as a share is),
 * or a refusal. "Not found" and "not yours" are the same refusal, so a peer learns nothing.
 */
export interface FetchProtocolInit {
  readonly libp2p: DmnLibp2p
  readonly selfPeerId: string
  readonly signingPrivateKeyPem: string
  readonly signingKeyId: string
  readonly encryptionPrivateKeyPem: string
  readonly records: RecordRepository
  readonly shares: ShareRepository
  readonly certificates: CertificateExchange
  readonly replayGuard: ReplayGuard
  readonly limits: InboundLimits
  readonly stats: TrafficStats
  readonly timeoutMs: number
  /** How libp2p takes this protocol's inbound streams (caps sized to the node's own limiter). */
  readonly handlerOptions: StreamHandlerOptions
  readonly onRefused: (peerId: string, protocol: string, err: unknown) => void
}

export class FetchProtocol {
  readonly name = 'fetch-protocol'
  readonly #init: FetchProtocolInit
  readonly #inbound: InboundStreamInit

  constructor(init: FetchProtocolInit) {
    this.#init = init
    this.#inbound = {
      protocol: FETCH_PROTOCOL,
      limits: init.limits,
      timeoutMs: init.timeoutMs,
      // The request is a small control frame; only the answer carries an envelope.
      maxRequestBytes: MAX_CONTROL_FRAME_BYTES,
      onRefused: init.onRefused
    }
  }

  /** Serves fetch requests from peers. */
  async start(): Promise<void> {
    await this.#init.libp2p.handle(FETCH_PROTOCOL, this.handle, this.#init.handlerOptions)
  }

  async stop(): Promise<void> {
    await this.#init.libp2p.unhandle(FETCH_PROTOCOL)
  }

  readonly handle = (stream: Stream, connection: Connection): Promise<void> =>
    serveInboundStream(stream, connection, this.#inbound, async ({ remote, signal, frames }) => {
      const request = decodeMessage(await frames.read({ signal }))
      this.#init.stats.recordIn(frames.bytesRead)
      const dataHash = request['dataHash']
      if (typeof dataHash !== 'string' || !DATA_HASH_PATTERN.test(dataHash)) {
        throw new FrameMalformedError('fetch request without a valid dataHash')
      }
      const peer = await this.#init.certificates.ofSender(remote, { signal })
      const share = this.#init.shares.findOutgoingTo(dataHash, remote)
      const plaintext = share ? this.#init.records.read(dataHash) : undefined
      if (!share || !plaintext) throw new RecordNotFoundError('no share of this data for this peer')
      const { bytes } = sealEnvelope({
        header: {
          shareId: share.shareId,
          sender: this.#init.selfPeerId,
          recipient: remote,
          tier: share.tier,
          senderKeyId: this.#init.signingKeyId,
          recipientKeyId: keyFingerprint(peer.encryptionPublicKeyPem)
        },
        plaintext,
        senderSigningPrivateKeyPem: this.#init.signingPrivateKeyPem,
        recipientEncryptionPublicKeyPem: peer.encryptionPublicKeyPem
      })
      this.#init.limits.chargeBytes(remote, bytes.byteLength)
      await frames.write(encodeMessage({ ok: true }), { signal })
      await frames.write(bytes, { signal })
      this.#init.stats.recordOut(frames.bytesWritten)
    })

  /** Asks `peer` for the data of `dataHash`; verifies, decrypts and stores it locally. */
  async fetch(peer: PeerId, dataHash: string, options: { signal?: AbortSignal } = {}): Promise<Uint8Array> {
    const timeout = AbortSignal.timeout(this.#init.timeoutMs)
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout
    const remote = peer.toString()
    const sender = await this.#init.certificates.ensure(remote, { signal })
    const stream = await this.#init.libp2p.dialProtocol(peer, FETCH_PROTOCOL, { signal })
    const frames = frameStream(stream, MAX_FRAME_BYTES)
    let envelope: Uint8Array
    try {
      await frames.write(encodeMessage({ dataHash }), { signal })
      const answer = decodeMessage(await frames.read({ signal }))
      if (answer['ok'] !== true) {
        const refusal = refusalFrom(answer)
        this.#init.stats.refusals.countReceived(FETCH_PROTOCOL, refusal.refusal)
        throw refusal
      }
      envelope = await frames.read({ signal })
      this.#init.stats.recordOut(frames.bytesWritten)
      this.#init.stats.recordIn(frames.bytesRead)
      await stream.close({ signal })
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(errorName(err)))
      throw err
    }
    const { header, plaintext } = openEnvelope(envelope, {
      senderSigningPublicKeyPem: sender.signingPublicKeyPem,
      recipientEncryptionPrivateKeyPem: this.#init.encryptionPrivateKeyPem,
      expectedRecipient: this.#init.selfPeerId,
      replayGuard: this.#init.replayGuard,
      maxBytes: MAX_FRAME_BYTES
    })
    if (header.sender !== remote) throw new SenderMismatchError('fetched envelope names another sender')
    if (dataHashOf(plaintext) !== dataHash)
      throw new FrameMalformedError('fetched data does not match its hash')
    this.#init.records.put(plaintext, dataHash)
    return plaintext
  }
}
