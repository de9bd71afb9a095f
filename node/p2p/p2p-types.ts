import type { SignedReceipt } from '../core/receipt.ts'
import type { ResolvedVia } from '../core/resolve-share.ts'
import type { AcceptedState } from '../core/share.ts'
import type { IdentityRegistry, StoredShare } from '../core/share-ports.ts'
import type { Logger } from '../log/logger.ts'
import type { Db } from '../store/database.ts'
import type { RecordCipher } from '../store/records.ts'
import type { P2pAttestation } from './attest-protocol.ts'
import type { P2pEvidence } from './evidence-protocol.ts'
import type { PeerTrust } from './peer-book.ts'
import type { TrustMode } from './trust.ts'

/** The part of node/crypto's KeyRing this component uses. */
export interface P2pKeyRing extends RecordCipher {
  readonly identity: {
    readonly signing: { readonly privateKeyPem: string; readonly publicKeyPem: string }
    readonly encryption: { readonly privateKeyPem: string; readonly publicKeyPem: string }
  }
  getSecret(name: string): Uint8Array | undefined
  setSecret(name: string, value: Uint8Array): Promise<void>
}

/**
 * Transaction hooks: each is called synchronously INSIDE the better-sqlite3 transaction that writes
 * the share, so whatever the hook writes (the audit outbox row) commits or rolls back with it. A hook
 * that throws aborts the transaction: the share is not queued (or not stored, or the receipt not kept).
 */
export interface P2pHooks {
  /** An outgoing share was queued (record + share row written). */
  onShareQueued?(db: Db, share: StoredShare): void
  /** The recipient's signed receipt for an outgoing share was verified and stored. */
  onReceiptStored?(db: Db, share: StoredShare, receipt: SignedReceipt): void
  /** An incoming share was stored here and this node signed its receipt. */
  onShareReceived?(db: Db, share: StoredShare, receipt: SignedReceipt): void
}

/** Components the P2P service needs; getters because the store and key ring start before it. */
export interface P2pComponents {
  readonly db: () => Db
  readonly keyRing: () => P2pKeyRing
  readonly logger: Logger
}

/** Options of the P2P service; `p2pInitFromConfig` fills them from `config.p2p`. */
export interface P2pInit {
  readonly host: string
  readonly port: number
  readonly bootstrap: readonly string[]
  readonly maxConnections: number
  readonly trust: TrustMode
  readonly allowlist: readonly string[]
  readonly caCertificatePems: readonly string[]
  /** A CA-issued certificate for this node; a self-signed one is made at start otherwise. */
  readonly certificatePem?: string | undefined
  /**
   * The node's Ethereum address, bound into its certificate so peers can name it by address; a
   * function is read at start (the audit component knows the account only once it started).
   */
  readonly ethAddress?: string | (() => string | undefined) | undefined
  readonly streamTimeoutMs: number
  readonly retryBaseMs: number
  readonly retryMaxMs: number
  readonly shareExpiryMs: number
  readonly healthIntervalMs: number
  /** Between two look-ups of an unresolved share's recipient; default `p2p.resolveIntervalMs`. */
  readonly resolveIntervalMs?: number | undefined
  readonly deliveryConcurrency: number
  /** Most shares in one batch (`p2p.batchMax`); 1 or unset: per-share only. */
  readonly batchMax?: number | undefined
  /** How long a due share waits for others to the same peer (`p2p.batchWindowMs`). */
  readonly batchWindowMs?: number | undefined
  readonly replayWindowSeconds: number
  readonly limits: {
    readonly messagesPerSecond: number
    readonly bytesPerSecond: number
    readonly concurrentStreams: number
  }
  readonly hooks?: P2pHooks | undefined
  /**
   * TPM attestation over `/dmn/attest/1.0.0`: answers peers' challenges and, with `verify`, checks
   * maximum-tier recipients; without `verify` maximum-tier shares are refused.
   */
  readonly attestation?: P2pAttestation | undefined
  /**
   * The audit trail's evidence of this node's outgoing shares, served to their recipients over
   * `/dmn/evidence/1.0.0`; without it every request is answered as not ready.
   */
  readonly evidence?: P2pEvidence | undefined
  /**
   * The chain's identity registry: resolves a share to an Ethereum address that no known peer's
   * certificate binds; without it such a share waits `unresolved` until a peer met binds it.
   */
  readonly registry?: IdentityRegistry | undefined
}

/**
 * What `shareData` returns: the share is durably queued (or waits `unresolved` for its recipient's
 * PeerId), delivery runs in the background.
 */
export interface QueuedShare {
  readonly shareId: string
  readonly dataHash: string
  readonly state: AcceptedState
  /** The share as its transaction wrote it, so a caller need not read it back. */
  readonly share: StoredShare
}

/** Events of the P2P service (for logs and Server-Sent Events). */
export type P2pEvents = {
  'share:queued': [{ share: StoredShare }]
  'share:resolved': [{ share: StoredShare; via: ResolvedVia }]
  'share:delivered': [{ share: StoredShare; receipt: SignedReceipt }]
  /** A batch attempt to `recipient` delivered `shares` of its shares (after their share:delivered). */
  'batch:delivered': [{ recipient: string; shares: number }]
  'share:attempt-failed': [{ share: StoredShare; error: string; final: boolean }]
  'share:received': [{ share: StoredShare; receipt: SignedReceipt }]
  'peer:verified': [{ peerId: string; trust: PeerTrust }]
  refused: [{ peerId: string; protocol: string; error: string; message: string }]
}
