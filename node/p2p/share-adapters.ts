import { peerIdFromString } from '@libp2p/peer-id'
import { canonicalReceipt } from '../core/receipt.ts'
import type {
  AuditLedger,
  EnvelopeCodec,
  KnownPeer,
  PeerDirectory,
  ShareStore,
  StoredShare
} from '../core/share-ports.ts'
import {
  keyFingerprint,
  openEnvelopeAsync,
  peekEnvelopeHeader,
  type ReplayGuard,
  sealEnvelopeAsync,
  signPssAsync,
  verifyPss
} from '../crypto/index.ts'
import { type Db, relaxedCommitOf } from '../store/database.ts'
import { createGroupCommit, type GroupCommit } from '../store/group-commit.ts'
import type { RecordRepository } from '../store/records.ts'
import type { ShareRepository } from '../store/shares.ts'
import { type CertificateExchange, isCertificateVerdict } from './cert-exchange.ts'
import { HELD_PLAINTEXT_BYTES, MAX_FRAME_BYTES } from './constants.ts'
import { errorName, RecipientUnreachableError } from './errors.ts'
import { HeldPlaintext } from './held-plaintext.ts'
import type { P2pHooks } from './p2p-types.ts'
import type { PeerBook } from './peer-book.ts'

/**
 * The share use case's ports (node/core/share-ports.ts) implemented by the p2p layer's parts: the
 * store repositories in one SQLite connection, the audit hooks, the peer book with the certificate
 * exchange, node/crypto's envelopes and the share protocol.
 */

/** This node's PeerId and private keys, as the protocols seal, open and sign with them. */
export interface NodeKeys {
  readonly selfPeerId: string
  readonly signingPrivateKeyPem: string
  /** Fingerprint of the signing public key, named in every envelope this node seals. */
  readonly signingKeyId: string
  readonly encryptionPrivateKeyPem: string
}

/**
 * Records and shares over one connection; `transaction` is better-sqlite3's (synchronous),
 * `groupTransaction` the connection's group commit (node/store/group-commit.ts). The
 * plaintext of an outgoing share is held in memory for its first seal (held-plaintext.ts); a
 * transaction that rolls back leaves at most an entry no share row will ask for.
 */
export function shareStoreOf(
  db: Db,
  records: RecordRepository,
  shares: ShareRepository,
  held: HeldPlaintext = new HeldPlaintext(HELD_PLAINTEXT_BYTES),
  group: GroupCommit = createGroupCommit(db)
): ShareStore {
  let lastPut: { readonly dataHash: string; readonly plaintext: Uint8Array } | undefined
  const relaxed = relaxedCommitOf(db)
  return {
    transaction: (work, options) => (options?.durable === false ? relaxed(work) : db.transaction(work)()),
    groupTransaction: (work, options) => group.run(work, options),
    putRecord: (plaintext, dataHash) => {
      lastPut = { dataHash, plaintext }
      return records.put(plaintext, dataHash)
    },
    readRecord: (dataHash) => held.take(dataHash) ?? records.read(dataHash),
    returnRecord: (dataHash, plaintext) => held.hold(dataHash, plaintext),
    insertShare: (share) => {
      // Only the sender seals from a record: a received share's plaintext is not held.
      if (share.direction === 'out' && lastPut?.dataHash === share.dataHash)
        held.hold(share.dataHash, lastPut.plaintext)
      lastPut = undefined
      return shares.insert(share)
    },
    getShare: (shareId) => shares.get(shareId),
    // The updated row comes back from the UPDATE itself: no read back.
    markDelivered: (shareId, receipt) => shares.markDelivered(shareId, receipt) as StoredShare,
    markResolved: (shareId, recipient, dueMs) => shares.markResolved(shareId, recipient, dueMs)
  }
}

/** The audit hooks, called inside the store's open transaction with its connection. */
export function auditLedgerOf(db: Db, hooks: P2pHooks | undefined): AuditLedger {
  return {
    shareQueued: (share) => hooks?.onShareQueued?.(db, share),
    receiptStored: (share, receipt) => hooks?.onReceiptStored?.(db, share, receipt),
    shareReceived: (share, receipt) => hooks?.onShareReceived?.(db, share, receipt)
  }
}

/** Known peers: addresses and deny state from the peer book, keys and trust from their certificates. */
export function peerDirectoryOf(peerBook: PeerBook, certificates: CertificateExchange): PeerDirectory {
  return {
    peerIdOfAddress: (address) => peerBook.getByEthAddress(address)?.peerId,
    parsePeerId: (label) => {
      try {
        return peerIdFromString(label).toString()
      } catch {
        return undefined
      }
    },
    isDenied: (peerId) => peerBook.isDenied(peerId),
    bindRegistered: (identity) => {
      peerBook.bindRegistered(identity)
      // A verdict on an earlier certificate of this peer is judged again against the record's keys.
      certificates.forget(identity.peerId)
    },
    ...verifiedPeersOf(certificates)
  }
}

/** The verified keys and trust of a peer, from the certificate exchange. */
function verifiedPeersOf(certificates: CertificateExchange): Pick<PeerDirectory, 'verified'> {
  return {
    verified: (peerId, options) =>
      certificates.ensure(peerId, options).catch((err: unknown) => {
        // A certificate verdict is the peer's fault and keeps its name; anything else is the network.
        if (isCertificateVerdict(err)) throw err
        throw new RecipientUnreachableError(`cannot reach ${peerId}: ${errorName(err)}`, { cause: err })
      })
  }
}

/**
 * Sealing envelopes for recipients and checking their receipts, with this node's signing key. The
 * signature is made on libuv's thread pool, so other deliveries' streams and commits go on meanwhile.
 */
export function envelopeSealerOf(
  keys: Pick<NodeKeys, 'signingPrivateKeyPem' | 'signingKeyId'>
): Pick<EnvelopeCodec, 'seal' | 'receiptSignedBy'> {
  return {
    seal: async (share, plaintext, recipient: KnownPeer) =>
      (
        await sealEnvelopeAsync({
          header: {
            shareId: share.shareId,
            sender: share.sender,
            recipient: share.recipient,
            tier: share.tier,
            senderKeyId: keys.signingKeyId,
            recipientKeyId: keyFingerprint(recipient.encryptionPublicKeyPem)
          },
          plaintext,
          senderSigningPrivateKeyPem: keys.signingPrivateKeyPem,
          recipientEncryptionPublicKeyPem: recipient.encryptionPublicKeyPem
        })
      ).bytes,
    receiptSignedBy: (receipt, signer) =>
      verifyPss(
        signer.signingPublicKeyPem,
        canonicalReceipt(receipt.body),
        new Uint8Array(Buffer.from(receipt.signature, 'base64'))
      )
  }
}

/**
 * Opening received envelopes (against the replay guard) and signing their receipts. The RSA work
 * (the key unwrap, the receipt's signature) runs on libuv's thread pool, so the event loop goes on
 * meanwhile: with other streams, and with the commit of the shares already opened.
 */
export function envelopeOpenerOf(
  keys: NodeKeys,
  replayGuard: ReplayGuard
): Pick<EnvelopeCodec, 'peek' | 'open' | 'signReceipt'> {
  return {
    peek: (envelope) => peekEnvelopeHeader(envelope, { maxBytes: MAX_FRAME_BYTES }),
    open: async (envelope, sender) => {
      const { header, plaintext } = await openEnvelopeAsync(envelope, {
        senderSigningPublicKeyPem: sender.signingPublicKeyPem,
        recipientEncryptionPrivateKeyPem: keys.encryptionPrivateKeyPem,
        expectedRecipient: keys.selfPeerId,
        replayGuard,
        maxBytes: MAX_FRAME_BYTES
      })
      return {
        plaintext,
        spendNonce: () => replayGuard.spend(header.sender, header.nonce, header.timestamp)
      }
    },
    signReceipt: async (body) =>
      Buffer.from(await signPssAsync(keys.signingPrivateKeyPem, canonicalReceipt(body))).toString('base64')
  }
}
