/**
 * Receiving a share, the checks in their order: the envelope's sender is the authenticated stream's
 * peer, that peer's trust suffices for the tier, then the envelope opens (signature before nonce, so
 * a forged envelope never spends a nonce), the data fits; the nonce, the record, the share row and
 * the signed receipt are stored in one transaction. Idempotent on the share id: a retry after a lost
 * answer gets the stored receipt again and nothing is stored twice.
 */
import { dataHashOf } from './accept-share.ts'
import type { ReceiptBody, SignedReceipt } from './receipt.ts'
import { MAX_DATA_BYTES } from './share.ts'
import { InvalidShareRequestError, SenderMismatchError } from './share-errors.ts'
import type { AuditLedger, Clock, EnvelopeCodec, KnownPeer, ShareStore, StoredShare } from './share-ports.ts'
import { assertTrustFor } from './share-trust.ts'

/** What receiving a share needs. */
export interface ReceiveShareComponents<S extends StoredShare> {
  readonly store: ShareStore<S>
  readonly ledger: AuditLedger<S>
  readonly envelopes: Pick<EnvelopeCodec, 'peek' | 'open' | 'signReceipt'>
  readonly clock: Clock
  /** This node's PeerId. */
  readonly selfPeerId: string
}

/** The receipt to answer with, and the share when this call stored it (undefined on a repeat). */
export interface ReceivedShare<S> {
  readonly receipt: SignedReceipt
  readonly stored: S | undefined
}

/** Checks, stores and signs a receipt for one envelope from an authenticated, verified peer. */
export function receiveShare<S extends StoredShare>(
  components: ReceiveShareComponents<S>,
  sender: KnownPeer,
  envelope: Uint8Array
): ReceivedShare<S> {
  const { envelopes, store, ledger } = components
  const header = envelopes.peek(envelope)
  if (header.sender !== sender.peerId) {
    throw new SenderMismatchError(
      `envelope names sender ${header.sender}, the stream is from ${sender.peerId}`
    )
  }
  assertTrustFor(header.tier, sender.trust, sender.peerId)
  // Opened inside the transaction: the replay guard's nonce commits with the stored share (one
  // commit, one fsync), and a crash before that commit leaves neither, so the sender, which got no
  // receipt, may send the same envelope again.
  return store.transaction((): ReceivedShare<S> => {
    const plaintext = envelopes.open(envelope, sender)
    if (plaintext.byteLength > MAX_DATA_BYTES) throw new InvalidShareRequestError('data exceeds 1 MiB')
    const dataHash = dataHashOf(plaintext)
    const existing = store.getShare(header.shareId)
    if (existing) {
      const receipt = existing.direction === 'in' ? existing.receipt : null
      if (!receipt || existing.sender !== sender.peerId || existing.dataHash !== dataHash) {
        throw new InvalidShareRequestError('share id already used for another share')
      }
      return { receipt, stored: undefined }
    }
    const record = store.putRecord(plaintext, dataHash)
    const body: ReceiptBody = {
      v: 1,
      shareId: header.shareId,
      dataHash,
      sender: sender.peerId,
      recipient: components.selfPeerId,
      tier: header.tier,
      receivedAt: components.clock.now()
    }
    const receipt: SignedReceipt = { body, signature: envelopes.signReceipt(body) }
    const share = store.insertShare({
      shareId: header.shareId,
      direction: 'in',
      recordId: record.id,
      dataHash,
      sender: sender.peerId,
      recipient: components.selfPeerId,
      tier: header.tier,
      state: 'received',
      receipt
    })
    ledger.shareReceived(share, receipt)
    return { receipt, stored: share }
  })
}
