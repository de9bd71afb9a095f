/**
 * Receiving a batch (README "Batched delivery"): the manifest's one signature and the batch key's one
 * unwrap are checked by the opener before this runs; then each share is judged alone, in the order
 * and by the rules of a share's own envelope (the sender is the authenticated peer, its trust
 * suffices for the share's tier, the sealed part is the one the manifest names, nonce and timestamp,
 * decryption, size, the data hash), and a share that fails is refused alone. The shares that pass
 * get receipts under one signed receipt root and are stored, with their records, receipts and audit
 * events, in one transaction: a crash stores all of them or none (the answer waits for its commit). A share id stored before gets its
 * stored receipt again (a retry after a lost answer), as on the per-share path.
 */
import { dataHashOf } from './accept-share.ts'
import { type BatchManifest, InvalidBatchError, type ReceiptRootBody, receiptTree } from './batch.ts'
import type { ReceiptBody, SignedReceipt } from './receipt.ts'
import { MAX_DATA_BYTES } from './share.ts'
import { InvalidShareRequestError, SenderMismatchError } from './share-errors.ts'
import type { AuditLedger, Clock, KnownPeer, ShareStore, StoredShare } from './share-ports.ts'
import { assertTrustFor } from './share-trust.ts'

/** A batch whose manifest verified: its entries open one by one (node/crypto). */
export interface OpenedBatchPort {
  readonly manifest: BatchManifest
  /** The plaintext of entry `index`; throws for that entry alone (tampered, replayed, undecryptable). */
  openEntry(index: number, part: Uint8Array): Uint8Array
  /** Zeroes the batch key. */
  dispose(): void
}

/** What receiving a batch needs. */
export interface ReceiveBatchComponents<S extends StoredShare> {
  readonly store: ShareStore<S>
  readonly ledger: AuditLedger<S>
  /** This node's signature over the canonical receipt root, base64. */
  readonly signRoot: (root: ReceiptRootBody) => string
  readonly clock: Clock
  readonly selfPeerId: string
}

/** The answer for one share of a batch: its receipt, or the error it was refused with. */
export type BatchShareResult =
  | { readonly shareId: string; readonly receipt: SignedReceipt }
  | { readonly shareId: string; readonly error: unknown }

export interface ReceivedBatch<S> {
  /** One per manifest entry, in its order. */
  readonly results: readonly BatchShareResult[]
  /** The shares this call stored, with their receipts (repeats are not among them). */
  readonly stored: readonly { readonly share: S; readonly receipt: SignedReceipt }[]
}

interface Accepted {
  readonly index: number
  readonly plaintext: Uint8Array
  readonly dataHash: string
}

/** Judges, stores and receipts every share of an opened batch from an authenticated, verified peer. */
export async function receiveBatch<S extends StoredShare>(
  components: ReceiveBatchComponents<S>,
  sender: KnownPeer,
  batch: OpenedBatchPort,
  parts: readonly Uint8Array[]
): Promise<ReceivedBatch<S>> {
  const { manifest } = batch
  if (manifest.sender !== sender.peerId) {
    throw new SenderMismatchError(
      `batch names sender ${manifest.sender}, the stream is from ${sender.peerId}`
    )
  }
  if (parts.length !== manifest.entries.length)
    throw new InvalidBatchError(`the manifest names ${manifest.entries.length} entries, ${parts.length} came`)
  const { store, ledger, clock } = components
  // The store's group transaction: batches and shares arriving on concurrent streams share a commit.
  return store.groupTransaction((): ReceivedBatch<S> => {
    const results: BatchShareResult[] = []
    const accepted: Accepted[] = []
    for (const [index, entry] of manifest.entries.entries()) {
      try {
        assertTrustFor(entry.tier, sender.trust, sender.peerId)
        const plaintext = batch.openEntry(index, parts[index] as Uint8Array)
        if (plaintext.byteLength > MAX_DATA_BYTES) throw new InvalidShareRequestError('data exceeds 1 MiB')
        const dataHash = dataHashOf(plaintext)
        if (dataHash !== entry.dataHash)
          throw new InvalidShareRequestError('data does not hash to the manifest data hash')
        const existing = store.getShare(entry.shareId)
        if (existing) {
          const receipt = existing.direction === 'in' ? existing.receipt : null
          if (!receipt || existing.sender !== sender.peerId || existing.dataHash !== dataHash)
            throw new InvalidShareRequestError('share id already used for another share')
          results[index] = { shareId: entry.shareId, receipt }
          continue
        }
        accepted.push({ index, plaintext, dataHash })
      } catch (err) {
        results[index] = { shareId: entry.shareId, error: err }
      }
    }
    const stored: { share: S; receipt: SignedReceipt }[] = []
    if (accepted.length > 0) {
      const receivedAt = clock.now()
      const bodies: ReceiptBody[] = accepted.map((a) => {
        const entry = manifest.entries[a.index] as BatchManifest['entries'][number]
        return {
          v: 1,
          shareId: entry.shareId,
          dataHash: a.dataHash,
          sender: sender.peerId,
          recipient: components.selfPeerId,
          tier: entry.tier,
          receivedAt
        }
      })
      const tree = receiptTree(bodies, {
        batchId: manifest.batchId,
        sender: sender.peerId,
        recipient: components.selfPeerId,
        signedAt: receivedAt
      })
      const signature = components.signRoot(tree.root)
      for (const [i, a] of accepted.entries()) {
        const body = bodies[i] as ReceiptBody
        const receipt: SignedReceipt = { body, signature, batch: tree.proofs[i] }
        const record = store.putRecord(a.plaintext, a.dataHash)
        const share = store.insertShare({
          shareId: body.shareId,
          direction: 'in',
          recordId: record.id,
          dataHash: a.dataHash,
          sender: sender.peerId,
          recipient: components.selfPeerId,
          tier: body.tier,
          state: 'received',
          receipt
        })
        ledger.shareReceived(share, receipt)
        results[a.index] = { shareId: body.shareId, receipt }
        stored.push({ share, receipt })
      }
    }
    return { results, stored }
  })
}
