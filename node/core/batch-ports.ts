/**
 * The ports of batched delivery (node/core/deliver-batch.ts, receive-batch.ts): sealing a batch
 * (node/crypto) and carrying it (node/p2p, `/dmn/share-batch/1.0.0`).
 */
import type { DmnError } from './errors.ts'
import type { SignedReceipt } from './receipt.ts'
import type { Tier } from './share.ts'
import type { KnownPeer } from './share-ports.ts'

/** One share to seal into a batch. */
export interface BatchShareInput {
  readonly shareId: string
  readonly tier: Tier
  readonly dataHash: string
  readonly plaintext: Uint8Array
}

/** A sealed batch as it travels: the signed manifest, then one sealed part per share, in its order. */
export interface SealedBatchFrames {
  readonly manifestFrame: Uint8Array
  readonly parts: readonly Uint8Array[]
}

/** Seals shares for one recipient into one batch with this node's signing key. */
export interface BatchSealer {
  seal(shares: readonly BatchShareInput[], recipient: KnownPeer): Promise<SealedBatchFrames>
}

/** The recipient's answer for one share: its receipt (structurally valid, not yet checked), or its refusal. */
export type BatchAnswer =
  | { readonly shareId: string; readonly receipt: SignedReceipt }
  | { readonly shareId: string; readonly error: DmnError }

/**
 * Sends a sealed batch and resolves with one answer per share; rejects when the batch as a whole is
 * refused (RemoteRefusalError) or cannot be sent, and with BatchUnsupportedError (node/p2p) when the
 * peer does not speak the batch protocol.
 */
export interface BatchTransport {
  sendBatch(
    peerId: string,
    batch: SealedBatchFrames,
    options: { signal: AbortSignal }
  ): Promise<BatchAnswer[]>
}
