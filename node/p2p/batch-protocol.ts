import { peerIdFromString } from '@libp2p/peer-id'
import type { BatchAnswer, BatchTransport, SealedBatchFrames } from '../core/batch-ports.ts'
import { validateBatchProof } from '../core/batch.ts'
import { DmnError } from '../core/errors.ts'
import type { SignedReceipt } from '../core/receipt.ts'
import { validateReceiptBody } from '../core/receipt.ts'
import {
  type BatchShareResult,
  type OpenedBatchPort,
  type ReceiveBatchComponents,
  receiveBatch
} from '../core/receive-batch.ts'
import type { KnownPeer, StoredShare } from '../core/share-ports.ts'
import type { CertificateExchange } from './cert-exchange.ts'
import { BATCH_PROTOCOL, MAX_BATCH_WIRE_BYTES, MAX_FRAME_BYTES } from './constants.ts'
import {
  BatchUnsupportedError,
  errorName,
  FrameMalformedError,
  FrameTooLargeError,
  RemoteRefusalError
} from './errors.ts'
import { decodeMessage, encodeMessage, frameStream, refusalFrom } from './framing.ts'
import {
  type InboundExchange,
  InboundProtocol,
  type InboundProtocolComponents,
  type ProtocolInit
} from './inbound-stream.ts'
import type { DmnLibp2p } from './libp2p-node.ts'
import type { TrafficStats } from './stats.ts'

/**
 * `/dmn/share-batch/1.0.0` (README "Batched delivery"). The sender writes the manifest frame (the
 * signed manifest and the wrapped batch key), then one frame per share's sealed part, in the
 * manifest's order. The receiver verifies the manifest once and unwraps the batch key once (a
 * failure refuses the whole batch with a typed refusal frame, as on `/dmn/share/1.0.0`), judges and
 * stores each share alone, and answers one frame:
 *
 *   {v:1, ok:true, results:[{shareId, ok:true, receipt:{body, signature, batch}}
 *                           | {shareId, ok:false, error, message}, ...]}
 *
 * one result per entry, in the manifest's order. A receipt's `batch` holds the signed receipt root,
 * its leaf index and its inclusion proof; a share stored before answers with its stored receipt.
 */

/** What the batch protocol needs: the core's batch-receiving ports, the senders' keys, where received shares go. */
export interface BatchProtocolComponents
  extends InboundProtocolComponents,
    ReceiveBatchComponents<StoredShare> {
  readonly certificates: Pick<CertificateExchange, 'ofSender'>
  readonly stats: TrafficStats
  /** Opens a manifest frame from `sender`: its one signature check and one key unwrap (node/crypto). */
  readonly openBatch: (frame: Uint8Array, sender: KnownPeer) => OpenedBatchPort
  /** A share was stored here and its receipt signed (after the batch's transaction committed). */
  readonly onReceived: (share: StoredShare, receipt: SignedReceipt) => void
}

export type BatchProtocolInit = ProtocolInit

export type { BatchProtocol }

class BatchProtocol extends InboundProtocol implements BatchTransport {
  readonly name = 'batch-protocol'
  readonly #components: BatchProtocolComponents

  constructor(components: BatchProtocolComponents, init: BatchProtocolInit) {
    super(components, init, { protocol: BATCH_PROTOCOL, refusalStats: components.stats })
    this.#components = components
  }

  protected async serve({ remote, signal, frames, release }: InboundExchange): Promise<void> {
    const { stats, limits, certificates, onReceived } = this.#components
    const manifestFrame = await frames.read({ signal })
    limits.chargeBytes(remote, manifestFrame.byteLength)
    const sender = await certificates.ofSender(remote, { signal })
    const batch = this.#components.openBatch(manifestFrame, sender)
    try {
      const parts: Uint8Array[] = []
      let total = manifestFrame.byteLength
      for (let i = 0; i < batch.manifest.entries.length; i++) {
        const part = await frames.read({ signal })
        total += part.byteLength
        if (total > MAX_BATCH_WIRE_BYTES)
          throw new FrameTooLargeError(`batch exceeds ${MAX_BATCH_WIRE_BYTES} bytes`)
        limits.chargeBytes(remote, part.byteLength)
        parts.push(part)
      }
      stats.recordIn(frames.bytesRead)
      const { results, stored } = await receiveBatch(this.#components, sender, batch, parts)
      for (const { share, receipt } of stored) onReceived(share, receipt)
      release()
      await frames.write(encodeMessage({ ok: true, results: results.map(resultMessage) }), { signal })
      stats.recordOut(frames.bytesWritten)
    } finally {
      batch.dispose()
    }
  }

  sendBatch(
    peerId: string,
    batch: SealedBatchFrames,
    options: { signal: AbortSignal }
  ): Promise<BatchAnswer[]> {
    return sendBatch(this.libp2p, peerId, batch, { signal: options.signal, stats: this.#components.stats })
  }
}

/** The batch protocol: its receiving side registered at start, its sending side for the delivery worker. */
export function createBatchProtocol(
  components: BatchProtocolComponents,
  init: BatchProtocolInit = {}
): BatchProtocol {
  return new BatchProtocol(components, init)
}

/** A share's result as sent: only deliberate errors are named, as in a refusal frame. */
function resultMessage(result: BatchShareResult): Record<string, unknown> {
  if ('receipt' in result) return { shareId: result.shareId, ok: true, receipt: result.receipt }
  const err = result.error
  return err instanceof DmnError
    ? { shareId: result.shareId, ok: false, error: err.name, message: err.message.slice(0, 500) }
    : {
        shareId: result.shareId,
        ok: false,
        error: 'InternalError',
        message: 'the peer could not process the share'
      }
}

function answerOf(value: unknown, stats: TrafficStats | undefined): BatchAnswer {
  if (value === null || typeof value !== 'object')
    throw new FrameMalformedError('batch result is not an object')
  const r = value as Record<string, unknown>
  const shareId = r['shareId']
  if (typeof shareId !== 'string') throw new FrameMalformedError('batch result without a share id')
  if (r['ok'] !== true) {
    const refusal = refusalFrom(r)
    stats?.refusals.countReceived(BATCH_PROTOCOL, refusal.refusal)
    return { shareId, error: refusal }
  }
  const receipt = r['receipt'] as Record<string, unknown> | undefined
  if (!receipt || typeof receipt !== 'object' || typeof receipt['signature'] !== 'string')
    return { shareId, error: new RemoteRefusalError('FrameMalformedError', 'batch result without a receipt') }
  try {
    const body = validateReceiptBody(receipt['body'])
    const signature = receipt['signature']
    if (receipt['batch'] === undefined) return { shareId, receipt: { body, signature } }
    return { shareId, receipt: { body, signature, batch: validateBatchProof(receipt['batch']) } }
  } catch (err) {
    return { shareId, error: err instanceof DmnError ? err : new FrameMalformedError('bad batch receipt') }
  }
}

/**
 * Sends one sealed batch and returns one answer per share; rejects with the peer's refusal of the
 * whole batch (RemoteRefusalError), BatchUnsupportedError when the peer does not speak the protocol,
 * or the stream's error. Every failure aborts the stream.
 */
export async function sendBatch(
  libp2p: DmnLibp2p,
  peerId: string,
  batch: SealedBatchFrames,
  options: { signal: AbortSignal; stats?: TrafficStats }
): Promise<BatchAnswer[]> {
  const { stats } = options
  let stream: Awaited<ReturnType<DmnLibp2p['dialProtocol']>>
  try {
    stream = await libp2p.dialProtocol(peerIdFromString(peerId), BATCH_PROTOCOL, { signal: options.signal })
  } catch (err) {
    if (errorName(err) === 'UnsupportedProtocolError')
      throw new BatchUnsupportedError(`peer ${peerId} does not speak ${BATCH_PROTOCOL}`, { cause: err })
    throw err
  }
  const frames = frameStream(stream, MAX_FRAME_BYTES)
  let answer: Record<string, unknown>
  try {
    await frames.write(batch.manifestFrame, options)
    for (const part of batch.parts) await frames.write(part, options)
    stats?.recordOut(frames.bytesWritten)
    answer = decodeMessage(await frames.read(options))
    stats?.recordIn(frames.bytesRead)
    await stream.close(options)
  } catch (err) {
    stream.abort(err instanceof Error ? err : new Error(errorName(err)))
    throw err
  }
  if (answer['ok'] !== true) {
    const refusal = refusalFrom(answer)
    stats?.refusals.countReceived(BATCH_PROTOCOL, refusal.refusal)
    throw refusal
  }
  const results = answer['results']
  if (!Array.isArray(results) || results.length !== batch.parts.length)
    throw new FrameMalformedError('batch answer without one result per share')
  return results.map((r) => answerOf(r, stats))
}
