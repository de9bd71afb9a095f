import {
  canonicalReceiptRoot,
  type ReceiptRootBody,
  receiptInRoot,
  receiptSignedBytes
} from '../core/batch.ts'
import type { BatchSealer } from '../core/batch-ports.ts'
import { canonicalReceipt, type SignedReceipt } from '../core/receipt.ts'
import type { OpenedBatchPort } from '../core/receive-batch.ts'
import type { EnvelopeCodec, KnownPeer } from '../core/share-ports.ts'
import { openBatch, sealBatch } from '../crypto/batch-envelope.ts'
import { keyFingerprint, publicKeyPemOf, type ReplayGuard, signPss, verifyPss } from '../crypto/index.ts'
import { MAX_BATCH_ENTRIES } from './constants.ts'
import type { NodeKeys } from './share-adapters.ts'

/**
 * The batch ports (node/core/batch-ports.ts, receive-batch.ts) implemented with node/crypto's batch
 * envelope and this node's keys.
 */

/** Key fingerprints, computed once per key. */
const fingerprints = new Map<string, string>()
function fingerprintOf(publicKeyPem: string): string {
  let id = fingerprints.get(publicKeyPem)
  if (id === undefined) {
    id = keyFingerprint(publicKeyPem)
    fingerprints.set(publicKeyPem, id)
  }
  return id
}

/** Seals batches with this node's signing key. */
export function batchSealerOf(
  keys: Pick<NodeKeys, 'selfPeerId' | 'signingPrivateKeyPem' | 'signingKeyId'>
): BatchSealer {
  return {
    seal: (shares, recipient) =>
      sealBatch({
        sender: keys.selfPeerId,
        recipient: recipient.peerId,
        senderKeyId: keys.signingKeyId,
        recipientKeyId: fingerprintOf(recipient.encryptionPublicKeyPem),
        shares,
        senderSigningPrivateKeyPem: keys.signingPrivateKeyPem,
        recipientEncryptionPublicKeyPem: recipient.encryptionPublicKeyPem
      })
  }
}

/** Opens batches addressed to this node, each entry against the replay guard; signs receipt roots. */
export function batchOpenerOf(
  keys: NodeKeys,
  replayGuard: ReplayGuard
): {
  openBatch: (frame: Uint8Array, sender: KnownPeer) => OpenedBatchPort
  signRoot: (root: ReceiptRootBody) => string
} {
  const recipientKeyId = fingerprintOf(publicKeyPemOf(keys.encryptionPrivateKeyPem))
  return {
    openBatch: (frame, sender) => {
      const opened = openBatch(frame, {
        senderSigningPublicKeyPem: sender.signingPublicKeyPem,
        senderKeyId: fingerprintOf(sender.signingPublicKeyPem),
        recipientEncryptionPrivateKeyPem: keys.encryptionPrivateKeyPem,
        recipientKeyId,
        expectedRecipient: keys.selfPeerId,
        maxEntries: MAX_BATCH_ENTRIES
      })
      return {
        manifest: opened.manifest,
        openEntry: (index, part) => opened.openEntry(index, part, { guard: replayGuard }),
        dispose: () => opened.dispose()
      }
    },
    signRoot: (root) =>
      Buffer.from(signPss(keys.signingPrivateKeyPem, canonicalReceiptRoot(root))).toString('base64')
  }
}

/**
 * Checks receipts, alone or batched: a batched one's inclusion proof, then its root's signature,
 * verified once per root (the receipts of one batch share it), so a batch costs one verification.
 */
export function receiptVerifier(): Pick<EnvelopeCodec, 'receiptSignedBy'> {
  let last: { key: string; bytes: string; signature: string; ok: boolean } | undefined
  return {
    receiptSignedBy: (receipt: SignedReceipt, signer: KnownPeer) => {
      if (!receiptInRoot(receipt)) return false
      const bytes = receiptSignedBytes(receipt, canonicalReceipt)
      if (receipt.batch) {
        const text = Buffer.from(bytes).toString('latin1')
        if (
          last &&
          last.key === signer.signingPublicKeyPem &&
          last.bytes === text &&
          last.signature === receipt.signature
        )
          return last.ok
        const ok = verifyPss(
          signer.signingPublicKeyPem,
          bytes,
          new Uint8Array(Buffer.from(receipt.signature, 'base64'))
        )
        last = { key: signer.signingPublicKeyPem, bytes: text, signature: receipt.signature, ok }
        return ok
      }
      return verifyPss(
        signer.signingPublicKeyPem,
        bytes,
        new Uint8Array(Buffer.from(receipt.signature, 'base64'))
      )
    }
  }
}
