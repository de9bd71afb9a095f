import type { Connection, PeerId, Stream, StreamHandlerOptions } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { SignedReceipt } from '../core/receipt.ts'
import { validateReceiptBody } from '../core/receipt.ts'
import { type ReceiveShareComponents, receiveShare } from '../core/receive-share.ts'
import { type ShareTransport, systemClock } from '../core/share-ports.ts'
import type { ReplayGuard } from '../crypto/index.ts'
import type { Logger } from '../log/logger.ts'
import type { Db } from '../store/database.ts'
import type { RecordRepository } from '../store/records.ts'
import type { ShareRepository, ShareRow } from '../store/shares.ts'
import type { CertificateExchange } from './cert-exchange.ts'
import { MAX_FRAME_BYTES, SHARE_PROTOCOL } from './constants.ts'
import { errorName, FrameMalformedError } from './errors.ts'
import { decodeMessage, encodeMessage, frameStream, refusalFrom } from './framing.ts'
import { type InboundStreamInit, serveInboundStream } from './inbound-stream.ts'
import type { InboundLimits } from './limits.ts'
import type { DmnLibp2p } from './libp2p-node.ts'
import { auditLedgerOf, envelopeOpenerOf, shareStoreOf } from './share-adapters.ts'
import type { TrafficStats } from './stats.ts'
import type { VerifiedPeer } from './trust.ts'

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
  readonly libp2p: DmnLibp2p
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
  /** How libp2p takes this protocol's inbound streams (caps sized to the node's own limiter). */
  readonly handlerOptions: StreamHandlerOptions
  readonly onShareReceived?: ShareReceivedHook | undefined
  readonly onReceived: (share: ShareRow, receipt: SignedReceipt) => void
  readonly onRefused: (peerId: string, protocol: string, err: unknown) => void
}

export class ShareReceiver {
  readonly name = 'share-protocol'
  readonly #init: ShareReceiverInit
  readonly #inbound: InboundStreamInit
  readonly #core: ReceiveShareComponents<ShareRow>

  constructor(init: ShareReceiverInit) {
    this.#init = init
    this.#core = {
      store: shareStoreOf(init.db, init.records, init.shares),
      ledger: auditLedgerOf(init.db, { onShareReceived: init.onShareReceived }),
      envelopes: envelopeOpenerOf({
        selfPeerId: init.selfPeerId,
        signingPrivateKeyPem: init.signingPrivateKeyPem,
        encryptionPrivateKeyPem: init.encryptionPrivateKeyPem,
        replayGuard: init.replayGuard
      }),
      clock: systemClock,
      selfPeerId: init.selfPeerId
    }
    this.#inbound = {
      protocol: SHARE_PROTOCOL,
      limits: init.limits,
      timeoutMs: init.timeoutMs,
      onRefused: init.onRefused,
      refusalStats: init.stats
    }
  }

  /** Takes shares from peers. */
  async start(): Promise<void> {
    await this.#init.libp2p.handle(SHARE_PROTOCOL, this.handle, this.#init.handlerOptions)
  }

  async stop(): Promise<void> {
    await this.#init.libp2p.unhandle(SHARE_PROTOCOL)
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
    const { receipt, stored } = receiveShare(this.#core, sender, envelope)
    if (stored) this.#init.onReceived(stored, receipt)
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

/** The share protocol as the core's transport (node/core/share-ports.ts). */
export function shareTransportOf(libp2p: DmnLibp2p, stats: TrafficStats): ShareTransport {
  return {
    send: (peerId, envelope, options) =>
      sendEnvelope(libp2p, peerIdFromString(peerId), envelope, { signal: options.signal, stats })
  }
}
