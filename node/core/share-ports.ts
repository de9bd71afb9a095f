/**
 * The ports of the share use case (accept, deliver, receive). The p2p, store, crypto and audit
 * adapters implement them; the use cases in node/core drive them and hold every decision. Plain
 * interfaces: no I/O here.
 *
 * The store and ledger are synchronous on purpose: the one transaction that writes a record, its
 * share row and its audit events must not await (SQLite transactions are synchronous).
 */

import type { SignedReceipt } from './receipt.ts'
import type { AcceptedState, DeliveryState, ShareDirection, Tier } from './share.ts'

/** How far this node trusts a peer, weakest first. */
export type PeerTrust = 'unknown' | 'pinned' | 'allowlisted' | 'ca'

/**
 * A share as it is stored: the one type of a share row, for the use cases, the store and the p2p
 * layer alike. Outgoing shares carry their delivery schedule; every share carries its signed
 * receipt once there is one.
 */
export interface StoredShare {
  readonly shareId: string
  readonly direction: ShareDirection
  readonly recordId: number
  readonly dataHash: string
  readonly sender: string
  /** The recipient's PeerId; the lower-case 0x address while the share is `unresolved`. */
  readonly recipient: string
  /** The recipient as the client named it (PeerId or 0x address); null for received shares. */
  readonly recipientLabel: string | null
  readonly tier: Tier
  readonly state: DeliveryState
  readonly receipt: SignedReceipt | null
  readonly attempts: number
  /**
   * Unix milliseconds when the next delivery attempt is due (for an `unresolved` share: the next
   * look-up of its recipient); null when none is scheduled.
   */
  readonly nextAttemptMs: number | null
  /** Unix milliseconds after which delivery gives up. */
  readonly expiresMs: number | null
  readonly lastError: string | null
  /** ISO-8601. */
  readonly createdAt: string
  readonly updatedAt: string
}

/** A share to write: the stored share's identity, and how it starts; the store adds the rest. */
export interface NewShare
  extends Pick<
    StoredShare,
    'shareId' | 'direction' | 'recordId' | 'dataHash' | 'sender' | 'recipient' | 'tier'
  > {
  readonly recipientLabel?: string
  /** Outgoing shares start `queued` (or `unresolved`), incoming ones are `received`. */
  readonly state: AcceptedState | 'received'
  readonly receipt?: SignedReceipt
  readonly nextAttemptMs?: number
  readonly expiresMs?: number
}

/** How a transaction's commit reaches the disk. */
export interface CommitOptions {
  /**
   * false: the commit survives a crash of the process but may wait for the next durable commit to
   * reach the disk (a power loss before then undoes it). Only for writes that a retry redoes
   * without harm, such as marking a share delivered: the recipient answers a repeat with the
   * receipt it stored. Durable by default.
   */
  readonly durable?: boolean
}

/**
 * Records and shares. `transaction` runs `work` atomically: everything written inside it (record,
 * share row, the ledger's audit events) commits together or, when `work` throws, not at all.
 */
export interface ShareStore<S extends StoredShare = StoredShare> {
  transaction<T>(work: () => T, options?: CommitOptions): T
  /**
   * Runs `work` as `transaction` does, in one transaction with the other works queued at the same
   * moment: one commit for all of them. Resolves once that commit has returned (so nothing that
   * waits for it acts on a write a crash could undo); `work` throwing undoes its own writes only
   * and rejects only its caller.
   */
  groupTransaction<T>(work: () => T, options?: CommitOptions): Promise<T>
  /** Stores the plaintext (encrypted at rest) under its SHA-256, once; returns its record id. */
  putRecord(plaintext: Uint8Array, dataHash: string): { readonly id: number }
  /** The plaintext of a stored record, or undefined. */
  readRecord(dataHash: string): Uint8Array | undefined
  /**
   * Gives back the plaintext `readRecord` returned for an attempt that did not send it (held back
   * for the recipient's pace, or deferred to a later batch), so that attempt need not read the
   * record at rest again. A store that keeps nothing in memory ignores it.
   */
  returnRecord(dataHash: string, plaintext: Uint8Array): void
  insertShare(share: NewShare): S
  getShare(shareId: string): S | undefined
  /** Marks an outgoing share delivered with its verified receipt; returns the updated row. */
  markDelivered(shareId: string, receipt: SignedReceipt): S
  /**
   * Moves an `unresolved` share to `queued` for the PeerId `recipient`, due at `dueMs`; returns the
   * updated row, or undefined when the share is no longer `unresolved`.
   */
  markResolved(shareId: string, recipient: string, dueMs: number): S | undefined
}

/** A peer whose certificate this node verified: its keys and the trust it earned. */
export interface KnownPeer {
  readonly peerId: string
  readonly trust: PeerTrust
  readonly signingPublicKeyPem: string
  readonly encryptionPublicKeyPem: string
}

/** A node as the chain's identity registry binds it: a valid identity record's PeerId, account and keys. */
export interface RegisteredIdentity {
  readonly peerId: string
  /** 0x and 40 hex digits, lower case. */
  readonly account: string
  readonly signingPublicKeyPem: string
  readonly encryptionPublicKeyPem: string
}

/** The chain's identity registry (node/audit): who registered an Ethereum account. */
export interface IdentityRegistry {
  /**
   * The identity the newest valid record of `account` binds, or undefined when no valid record is
   * registered. Rejects when the chain cannot be asked.
   */
  lookup(account: string, options: { signal: AbortSignal }): Promise<RegisteredIdentity | undefined>
}

/** The peers this node knows (peer book and certificates). */
export interface PeerDirectory {
  /** The PeerId of the known peer with this Ethereum address, or undefined. */
  peerIdOfAddress(address: string): string | undefined
  /** `label` as a canonical PeerId, or undefined when it is not a PeerId. */
  parsePeerId(label: string): string | undefined
  /** The operator denied this peer. */
  isDenied(peerId: string): boolean
  /** The verified keys and trust of `peerId`, exchanging certificates when needed. */
  verified(peerId: string, options: { signal: AbortSignal }): Promise<KnownPeer>
  /**
   * Binds a peer first known through the registry to the keys its record names, so its certificate
   * must name the same keys when it is exchanged. Throws IdentityRecordMismatchError when this node
   * already holds other keys for that PeerId.
   */
  bindRegistered(identity: RegisteredIdentity): void
}

/**
 * Sends a sealed envelope. Resolves with the recipient's signed receipt (structurally valid, not yet
 * checked against the share); a refusal by the peer rejects with RemoteRefusalError.
 */
export interface ShareTransport {
  send(peerId: string, envelope: Uint8Array, options: { signal: AbortSignal }): Promise<SignedReceipt>
}

/** The header of a received envelope, readable before its signature is checked. */
export interface EnvelopeFacts {
  readonly shareId: string
  readonly sender: string
  readonly recipient: string
  readonly tier: Tier
}

/** An envelope that opened: its plaintext, and its nonce still to spend. */
export interface OpenedEnvelope {
  readonly plaintext: Uint8Array
  /**
   * Records the envelope's nonce against replays, in the caller's open transaction (so it commits
   * or rolls back with the stored share); throws ReplayedNonceError when its sender spent it before.
   */
  spendNonce(): void
}

/** Sealing and opening envelopes and signing receipts, with this node's keys (node/crypto). */
export interface EnvelopeCodec {
  /** Seals `plaintext` for `recipient` with a fresh nonce and timestamp. */
  seal(share: EnvelopeFacts, plaintext: Uint8Array, recipient: KnownPeer): Promise<Uint8Array>
  /** Reads the header without checking anything but its structure and size. */
  peek(envelope: Uint8Array): EnvelopeFacts
  /**
   * Checks signature, recipient, key ids, then freshness and that the nonce is unspent (in that
   * order: a forged envelope never reaches the nonce), and decrypts. The nonce is spent by the
   * caller, with what it stores (`OpenedEnvelope.spendNonce`).
   */
  open(envelope: Uint8Array, sender: KnownPeer): Promise<OpenedEnvelope>
  /** This node's signature over the canonical receipt body, base64. */
  signReceipt(body: SignedReceipt['body']): Promise<string>
  /** Whether `receipt` is signed by `signer`'s signing key. */
  receiptSignedBy(receipt: SignedReceipt, signer: KnownPeer): boolean
}

/**
 * Queues audit events in the store's open transaction, so they commit or roll back with the share.
 * Which events a share produces is decided in audit-events.ts.
 */
export interface AuditLedger<S extends StoredShare = StoredShare> {
  /** An outgoing share was queued (record and share row written). */
  shareQueued(share: S): void
  /** The recipient's receipt for an outgoing share was verified and stored. */
  receiptStored(share: S, receipt: SignedReceipt): void
  /** An incoming share was stored here and this node signed its receipt. */
  shareReceived(share: S, receipt: SignedReceipt): void
}

/** Checks a maximum-tier recipient's fresh TPM attestation; throws when it does not verify. */
export interface AttestationVerifier {
  verifyRecipient(peerId: string, shareId: string, options: { signal: AbortSignal }): Promise<void>
}

/** The time, so schedules and expiries are testable. */
export interface Clock {
  /** Unix milliseconds. */
  now(): number
}

/** Wall-clock time. */
export const systemClock: Clock = { now: () => Date.now() }
