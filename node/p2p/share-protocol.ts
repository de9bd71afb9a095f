import type { Connection, PeerId, Stream } from '@libp2p/interface'
import {
  canonicalReceipt,
  type ReceiptBody,
  type SignedReceipt,
  validateReceiptBody
} from '../core/receipt.ts'
import { MAX_DATA_BYTES } from '../core/share.ts'
import { openEnvelope, peekEnvelopeHeader, type ReplayGuard, signPss, verifyPss } from '../crypto/index.ts'
import type { Logger } from '../log/logger.ts'
import type { Db } from '../store/database.ts'
import { dataHashOf, type RecordRepository } from '../store/records.ts'
import type { ShareRepository, ShareRow } from '../store/shares.ts'
import type { CertificateExchange } from './cert-exchange.ts'
import { MAX_FRAME_BYTES, SHARE_PROTOCOL } from './constants.ts'
import {
  errorName,
  FrameMalformedError,
  InvalidShareRequestError,
  ReceiptMismatchError,
  SenderMismatchError
} from './errors.ts'
import { decodeMessage, encodeMessage, frameStream, refusalFrom } from './framing.ts'
import { type InboundStreamInit, serveInboundStream } from './inbound-stream.ts'
import type { InboundLimits } from './limits.ts'
import type { DmnLibp2p } from './libp2p-node.ts'
import type { TrafficStats } from './stats.ts'
import { assertTrustFor, type VerifiedPeer } from './trust.ts'

/**
 * `/dmn/share/1.0.0`. The sender writes one frame, the sealed envelope; the receiver checks it
 * (authenticated sender's key, freshness and nonce, size, tier minimum), stores it encrypted under
 * its own key ring, and answers one frame: `{v:1, ok:true, receipt:{body, signature}}` or a typed
 * refusal `{v:1, ok:false, error, message}`. Receiving is idempotent on the share id: a retry after
 * a lost answer gets the stored receipt again and stores nothing twice.
 */

/** Called inside the receiver's SQLite transaction, so audit rows commit atomically with the share. */
export type ShareReceivedHook = (db: Db, share: ShareRow, receipt: SignedReceipt) => void

export interface ShareReceiverInit {
  readonly selfPeerId: string
  readonly signingPrivateKeyPem: string
  readonly encryptionPrivateKeyPem: string
  readonly db: Db
  readonly records: RecordRepository
  readonly shares: ShareRepository
  readonly certificates: CertificateExchange
  readonly replayGuard: ReplayGuard
  readonly limits: InboundLimits
  readonly stats: TrafficStats
  readonly logger: Logger
  readonly timeoutMs: number
  readonly onShareReceived?: ShareReceivedHook | undefined
  readonly onReceived: (share: ShareRow, receipt: SignedReceipt) => void
  readonly onRefused: (peerId: string, protocol: string, err: unknown) => void
}

export class ShareReceiver {
  readonly #init: ShareReceiverInit
  readonly #inbound: InboundStreamInit

  constructor(init: ShareReceiverInit) {
    this.#init = init
    this.#inbound = {
      protocol: SHARE_PROTOCOL,
      limits: init.limits,
      timeoutMs: init.timeoutMs,
      onRefused: init.onRefused,
      refusalStats: init.stats
    }
  }

  readonly handle = (stream: Stream, connection: Connection): Promise<void> =>
    serveInboundStream(stream, connection, this.#inbound, async ({ remote, signal, frames }) => {
      const envelope = await frames.read({ signal })
      this.#init.stats.recordIn(frames.bytesRead)
      this.#init.limits.chargeBytes(remote, envelope.byteLength)
      const sender = await this.#init.certificates.ofSender(remote, { signal })
      const receipt = this.receive(sender, envelope)
      await frames.write(encodeMessage({ ok: true, receipt }), { signal })
      this.#init.stats.recordOut(frames.bytesWritten)
    })

  /** Checks, stores and signs a receipt for one envelope from an authenticated, verified peer. */
  receive(sender: VerifiedPeer, envelope: Uint8Array): SignedReceipt {
    const header = peekEnvelopeHeader(envelope, { maxBytes: MAX_FRAME_BYTES })
    if (header.sender !== sender.peerId) {
      throw new SenderMismatchError(
        `envelope names sender ${header.sender}, the stream is from ${sender.peerId}`
      )
    }
    assertTrustFor(header.tier, sender.trust, sender.peerId)
    const { plaintext } = openEnvelope(envelope, {
      senderSigningPublicKeyPem: sender.signingPublicKeyPem,
      recipientEncryptionPrivateKeyPem: this.#init.encryptionPrivateKeyPem,
      expectedRecipient: this.#init.selfPeerId,
      replayGuard: this.#init.replayGuard,
      maxBytes: MAX_FRAME_BYTES
    })
    if (plaintext.byteLength > MAX_DATA_BYTES) throw new InvalidShareRequestError('data exceeds 1 MiB')
    const { db, records, shares } = this.#init
    const dataHash = dataHashOf(plaintext)
    let created: { share: ShareRow; receipt: SignedReceipt } | undefined
    const receipt = db.transaction((): SignedReceipt => {
      const existing = shares.get(header.shareId)
      if (existing) {
        if (
          existing.direction !== 'in' ||
          existing.sender !== sender.peerId ||
          existing.dataHash !== dataHash
        ) {
          throw new InvalidShareRequestError('share id already used for another share')
        }
        return JSON.parse(new TextDecoder().decode(existing.receipt ?? new Uint8Array())) as SignedReceipt
      }
      const record = records.put(plaintext, dataHash)
      const body: ReceiptBody = {
        v: 1,
        shareId: header.shareId,
        dataHash,
        sender: sender.peerId,
        recipient: this.#init.selfPeerId,
        tier: header.tier,
        receivedAt: Date.now()
      }
      const signed: SignedReceipt = {
        body,
        signature: Buffer.from(signPss(this.#init.signingPrivateKeyPem, canonicalReceipt(body))).toString(
          'base64'
        )
      }
      const share = shares.insert({
        shareId: header.shareId,
        direction: 'in',
        recordId: record.id,
        dataHash,
        sender: sender.peerId,
        recipient: this.#init.selfPeerId,
        tier: header.tier,
        state: 'received',
        receipt: new TextEncoder().encode(JSON.stringify(signed))
      })
      this.#init.onShareReceived?.(db, share, signed)
      created = { share, receipt: signed }
      return signed
    })()
    if (created) this.#init.onReceived(created.share, created.receipt)
    return receipt
  }
}

/**
 * Sends one envelope and returns the peer's answer: the signed receipt, or RemoteRefusalError with
 * the peer's error name. Every failure aborts the stream.
 */
export async function sendEnvelope(
  libp2p: DmnLibp2p,
  peer: PeerId,
  envelope: Uint8Array,
  options: { signal: AbortSignal; stats?: TrafficStats }
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

/**
 * Checks that a receipt answers this share and is signed by the recipient's signing key.
 * Throws ReceiptMismatchError otherwise.
 */
export function verifyReceipt(
  receipt: SignedReceipt,
  share: ShareRow,
  recipientSigningPublicKeyPem: string
): void {
  const b = receipt.body
  if (
    b.shareId !== share.shareId ||
    b.dataHash !== share.dataHash ||
    b.sender !== share.sender ||
    b.recipient !== share.recipient ||
    b.tier !== share.tier
  ) {
    throw new ReceiptMismatchError('receipt does not match the share')
  }
  const signature = new Uint8Array(Buffer.from(receipt.signature, 'base64'))
  if (!verifyPss(recipientSigningPublicKeyPem, canonicalReceipt(b), signature)) {
    throw new ReceiptMismatchError('receipt signature does not verify with the recipient key')
  }
}
