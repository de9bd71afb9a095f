/**
 * The ports the APIs drive. Adapters (p2p, audit, store, crypto) implement them and `node/main.ts`
 * wires them; the API layer sees nothing else of the node. Plain interfaces and pure mappings: no
 * I/O here.
 *
 * Every asynchronous call takes `{ signal }` so an aborted HTTP request stops the work behind it.
 */

import { DmnError } from './errors.ts'
import {
  type AuditMode,
  type AuditState,
  type DeliveryState,
  LONE_SURROGATE,
  recipientResolved,
  type ShareAuditState,
  type ShareDirection,
  type Tier,
  type TxHashPendingReason,
  txHashPendingReason
} from './share.ts'
import type { StoredShare } from './share-ports.ts'

/** Cancellation for one call. */
export interface CallOptions {
  readonly signal?: AbortSignal
}

export interface ShareRequest {
  /** The plaintext, at most MAX_DATA_BYTES. */
  readonly data: Uint8Array
  /** An Ethereum address (0x + 40 hex) or a PeerId, as the client named the recipient. */
  readonly recipient: string
  readonly tier: Tier
}

/** Where a share stands on the audit trail. */
export interface ShareAudit {
  /** The outbox's states for shares this node sends; `recorded`/`confirmed` for received ones. */
  readonly audit: ShareAuditState
  /** Null until the audit transaction is sent. */
  readonly txHash: string | null
}

/** A share as the APIs show it: the stored share with where its audit stands. */
export interface ShareView extends ShareAudit {
  readonly shareId: string
  readonly direction: ShareDirection
  readonly dataHash: string
  readonly sender: string
  /** The recipient's PeerId; the 0x address the client named while the share is `unresolved`. */
  readonly recipient: string
  /** The recipient as the client named it (PeerId or 0x address). */
  readonly recipientLabel: string
  readonly tier: Tier
  readonly delivery: DeliveryState
  /** Why `txHash` is null; null when it is not. */
  readonly txHashPendingReason: TxHashPendingReason | null
  readonly attempts: number
  readonly lastError: string | null
  /** ISO-8601 UTC. */
  readonly createdAt: string
  readonly updatedAt: string
}

/**
 * The one mapping of a stored share to its view; a share named by PeerId is labelled with it.
 * `mode` (`chain.mode`) says why a share has no transaction hash yet.
 */
export function shareView(share: StoredShare, audit: ShareAudit, mode: AuditMode): ShareView {
  return {
    shareId: share.shareId,
    direction: share.direction,
    dataHash: share.dataHash,
    sender: share.sender,
    recipient: share.recipient,
    recipientLabel: share.recipientLabel ?? share.recipient,
    tier: share.tier,
    delivery: share.state,
    audit: audit.audit,
    txHash: audit.txHash,
    txHashPendingReason: txHashPendingReason(
      { direction: share.direction, ...audit, audited: recipientResolved(share) },
      mode
    ),
    attempts: share.attempts,
    lastError: share.lastError,
    createdAt: share.createdAt,
    updatedAt: share.updatedAt
  }
}

export interface ShareFilter {
  readonly state?: DeliveryState
  readonly limit?: number
  /** Only shares stored before the one at this position (a page's `nextAfter`). */
  readonly after?: number
}

/**
 * One page of shares, newest first, and the position the next page starts after: null when no share
 * follows. Positions are the order in which this node stored its shares, so a share stored while a
 * client pages never shows up in, or shifts, the pages after its cursor.
 */
export interface SharePage {
  readonly shares: readonly ShareView[]
  readonly nextAfter: number | null
}

/** How a share is accepted, beyond cancellation. */
export interface ShareOptions extends CallOptions {
  /**
   * Runs inside the share's own transaction once the share is written, with the share as the APIs
   * show it (the same view `share` then resolves with): what it writes to the node's database
   * commits with the share or not at all. Synchronous; when it throws, the share is not made and
   * `share` rejects with that error. The API keeps an `Idempotency-Key`'s answer this way.
   */
  readonly alsoInTransaction?: (share: ShareView) => void
}

/**
 * Accepts shares. `share` returns once the record, the envelope and the audit event are durably
 * queued; delivery and the chain follow asynchronously.
 */
export interface ShareService {
  share(request: ShareRequest, options?: ShareOptions): Promise<ShareView>
  getShare(shareId: string, options?: CallOptions): Promise<ShareView | undefined>
  listShares(filter: ShareFilter, options?: CallOptions): Promise<SharePage>
  /** How many shares are in each delivery state (for metrics). */
  countByState(options?: CallOptions): Promise<Readonly<Partial<Record<DeliveryState, number>>>>
}

/** A stored record, decrypted for the caller. */
export interface RecordView {
  readonly dataHash: string
  readonly data: Uint8Array
  readonly sizeBytes: number
  readonly tier: Tier
  readonly createdAt: string
}

/** Reads records stored on this node (sent or received), by the SHA-256 of their plaintext. */
export interface DataService {
  getByHash(dataHash: string, options?: CallOptions): Promise<RecordView | undefined>
}

/** Proof that the chain holds a share event for a data hash. */
export interface AuditEvidence {
  readonly txHash: string
  readonly blockNumber: number
  readonly contractAddress: string
  readonly shareId: string | null
  /** The audit leaf (receipt hash), 0x hex, when the event commits to a receipt. */
  readonly leaf: string | null
  /** Merkle root and inclusion proof in batch mode; null in per-share mode. */
  readonly merkleRoot: string | null
  readonly proof: readonly string[] | null
  readonly confirmations: number
}

/** One share of a data hash as the evidence check judged it: who shared with whom. */
export interface ShareVerification {
  readonly shareId: string
  /** PeerId of the sender. */
  readonly sender: string
  /** PeerId of the recipient. */
  readonly recipient: string
  readonly tier: string
  readonly verified: boolean
  /** The check's reason code when not verified (docs/AUDIT.md), else null. */
  readonly reason: string | null
  readonly confirmations: number
}

/** A contract event for the data hash that counts for nobody, and why. */
export interface RefusedEvidence extends AuditEvidence {
  readonly eventType: string
  /** The account that sent it. */
  readonly submitter: string
  readonly reason: string
}

export interface Verification {
  readonly dataHash: string
  /**
   * True only when the evidence check of docs/AUDIT.md holds for every share of the data hash this
   * node is party to: events from the bound accounts, receipts signed by the bound recipients.
   */
  readonly verified: boolean
  /** The check's reason code when not verified, else null. */
  readonly reason: string | null
  readonly eventType: string | null
  readonly evidence: AuditEvidence | null
  readonly shares: readonly ShareVerification[]
  /** Events for the data hash from accounts no valid identity binds (never counted). */
  readonly refused: readonly RefusedEvidence[]
}

/** An evidence bundle as the API hands it out: a JSON object whose format docs/AUDIT.md fixes. */
export type EvidenceBundleDocument = { readonly [key: string]: unknown }

export interface ComplianceEvent {
  readonly eventType: string
  readonly dataHash: string | null
  readonly shareId: string | null
  readonly sender: string | null
  /** The recipient's PeerId. */
  readonly recipient: string | null
  /** The recipient as the client named it when it asked for the share (PeerId or 0x address). */
  readonly recipientLabel: string | null
  /** Unix seconds: when the share was made, for its record; when it was received, for its receipt. */
  readonly timestamp: number | null
  readonly txHash: string
  readonly blockNumber: number
  /** The event's log index in its transaction's block. */
  readonly logIndex: number
  /** The leaf's place in its batch; null for an event that is not a batch leaf. */
  readonly leafIndex: number | null
}

/** Where an event sits in the history (newest first: block, then log index, then leaf index). */
export interface EventPosition {
  readonly blockNumber: number
  readonly logIndex: number
  readonly leafIndex: number | null
}

export interface ComplianceFilter {
  /** Event types to include; all when empty. */
  readonly eventTypes: readonly string[]
  readonly dataHash?: string
  /** Only events older than this position (the cursor of the page before). */
  readonly after?: EventPosition
  readonly limit: number
}

export interface AuditStatus {
  readonly contractAddress: string | null
  readonly chainId: number | null
  readonly latestBlock: number | null
  readonly pending: number
  readonly sent: number
  readonly failed: number
  /** Seconds since the oldest event still waiting was queued; 0 when none waits. */
  readonly lagSeconds: number
}

/** The audit trail as the API reads it: verification, compliance history and status. */
export interface AuditReader {
  verify(dataHash: string, options?: CallOptions): Promise<Verification>
  /**
   * The evidence bundle of a data hash (docs/AUDIT.md, "The evidence bundle"), a JSON document;
   * undefined when this node is party to no share of it.
   */
  bundle(dataHash: string, options?: CallOptions): Promise<EvidenceBundleDocument | undefined>
  complianceHistory(filter: ComplianceFilter, options?: CallOptions): Promise<readonly ComplianceEvent[]>
  status(options?: CallOptions): Promise<AuditStatus>
}

export interface PeerView {
  readonly peerId: string
  readonly addresses: readonly string[]
  readonly trust: 'unknown' | 'pinned' | 'allowlisted' | 'ca'
  readonly status: 'active' | 'denied'
  readonly connected: boolean
  readonly healthy: boolean
  readonly latencyMs: number | null
  readonly lastSeenAt: string | null
  readonly ethAddress: string | null
  /** Share of recent contacts that succeeded; null before the first contact. */
  readonly successRate: number | null
}

export interface NetworkStats {
  readonly peerId: string
  readonly totalPeers: number
  readonly healthyPeers: number
  readonly connections: number
  readonly bytesSent: number
  readonly bytesReceived: number
  readonly uptimeSeconds: number
  readonly listenAddresses: readonly string[]
  /** How many bootstrap peers are configured (`p2p.bootstrap`). */
  readonly bootstrapPeers: number
}

/** The peer-to-peer side: statistics, the peer book and the operator's allow/deny decisions. */
export interface NetworkService {
  stats(options?: CallOptions): Promise<NetworkStats>
  peers(filter: { readonly healthy?: boolean }, options?: CallOptions): Promise<readonly PeerView[]>
  /** Marks a peer allowlisted (and active); returns the updated peer. */
  allow(peerId: string, options?: CallOptions): Promise<PeerView>
  /** Marks a peer denied and closes its connections; returns the updated peer. */
  deny(peerId: string, options?: CallOptions): Promise<PeerView>
}

/** What a peer or an operator needs to reach and recognise this node (`GET /id`, `dmn id`). */
export interface NodeIdentity {
  readonly peerId: string
  /** Listen multiaddrs, each ending in `/p2p/<PeerId>`. */
  readonly addresses: readonly string[]
  /** The node's audit account; null until the audit trail has loaded its key. */
  readonly ethAddress: string | null
  /** SHA-256 of the DER SPKI of the identity keys (as `dmn keys show`). */
  readonly signingKeyFingerprint: string
  readonly encryptionKeyFingerprint: string
}

/** The running node's own identity. */
export interface NodeIdentitySource {
  describe(options?: CallOptions): Promise<NodeIdentity>
}

export interface KeyRingStatus {
  readonly primaryVersion: number
  readonly minimumVersion: number
  readonly versions: readonly {
    readonly version: number
    readonly createdAt: string
    readonly retired: boolean
  }[]
  /** Records per key version. */
  readonly recordsByVersion: Readonly<Record<string, number>>
  readonly signingKeyId: string
  readonly encryptionKeyId: string
}

/** Operator actions on the key ring. */
export interface KeyRingAdmin {
  status(options?: CallOptions): Promise<KeyRingStatus>
  /** Adds a data key version and makes it primary. */
  rotate(options?: CallOptions): Promise<{ readonly primaryVersion: number }>
  /** Re-encrypts stored records under the primary key; returns how many moved. */
  rewrap(options?: CallOptions): Promise<{ readonly rewrapped: number; readonly primaryVersion: number }>
}

/** An audit outbox entry as operators see it. */
export interface OutboxEntryView {
  readonly id: number
  readonly kind: string
  readonly shareId: string | null
  readonly state: AuditState
  readonly txHash: string | null
  readonly attempts: number
  readonly lastError: string | null
  readonly createdAt: string
  readonly updatedAt: string
}

/** The durable audit outbox, for operators. */
export interface Outbox {
  /** Entries newest first; with `after`, only those older than that entry id. */
  list(
    filter: { readonly state?: AuditState; readonly limit: number; readonly after?: number },
    options?: CallOptions
  ): Promise<readonly OutboxEntryView[]>
  /** Puts a failed entry back to pending; throws NotFoundError-like domain errors for unknown ids. */
  retry(id: number, options?: CallOptions): Promise<OutboxEntryView>
}

/** An event of the node's persisted event log (node/store/event-log.ts). */
export interface NodeEvent {
  /** Stable and increasing: the log's id, the SSE `id:` and the cursor a reader resumes after. */
  readonly id: number
  /** For example `share.accepted`, `share.delivered`, `share.received`, `audit.confirmed`, `security.auth.failure`. */
  readonly type: string
  /** Unix milliseconds. */
  readonly at: number
  readonly data: Readonly<Record<string, unknown>>
}

/** Reads the persisted event log; synchronous (one SQLite query each). */
export interface EventLogReader {
  /** Events with id > afterId, ascending, at most limit; `types` keeps types starting with one of the prefixes. */
  after(afterId: number, limit: number, types?: readonly string[]): readonly NodeEvent[]
  /** The oldest retained event's id; undefined when the log holds none. */
  oldestId(): number | undefined
  /** The last id handed out (0 before the first event). */
  latestId(): number
}

/**
 * Wakes live readers of the event log: "something was appended". It carries no content (readers
 * read the log from their cursor); listeners must not throw and must return quickly.
 */
export interface EventSignal {
  notify(): void
  /** Returns the function that unsubscribes. */
  subscribe(listener: () => void): () => void
}

/** Security events the API records; a subset of the kinds the audit's security log accepts. */
export type ApiSecurityEventKind =
  | 'auth.success'
  | 'auth.failure'
  | 'rate_limit.hit'
  | 'request.refused'
  | 'key.rotated'
  | 'key.rewrapped'
  | 'api_key.created'
  | 'api_key.revoked'
  | 'config.changed'

/** Writes to the hash-chained local security log (auth results, rate-limit hits, key operations). */
export interface SecurityLogWriter {
  append(kind: ApiSecurityEventKind, detail: Record<string, unknown>): void
}

export type HealthState = 'up' | 'degraded' | 'down'

export interface ComponentHealth {
  readonly status: HealthState
  readonly detail?: Readonly<Record<string, unknown>>
}

/** One component's health check; must resolve quickly and never throw for an unhealthy state. */
export interface HealthProbe {
  readonly name: string
  check(options?: CallOptions): Promise<ComponentHealth>
}

export const API_KEY_SCOPES = ['share', 'read', 'admin'] as const
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number]

/** Longest API-key name, in UTF-16 code units (the length JavaScript and the schema count). */
export const MAX_API_KEY_NAME_LENGTH = 100

/** What is wrong with an API-key name, in the words both the API and the CLI answer with. */
export const API_KEY_NAME_PROBLEMS = {
  empty: 'name must not be empty',
  tooLong: `name must be at most ${MAX_API_KEY_NAME_LENGTH} characters`,
  // Stored or hashed, an unpaired surrogate would become U+FFFD: the node would keep another name.
  loneSurrogate: 'name must be well-formed Unicode (no lone surrogates)'
} as const

/** The first problem of an API-key name, or undefined when it can be stored as given. */
export function apiKeyNameProblem(name: string): string | undefined {
  if (name.length === 0) return API_KEY_NAME_PROBLEMS.empty
  if (name.length > MAX_API_KEY_NAME_LENGTH) return API_KEY_NAME_PROBLEMS.tooLong
  if (LONE_SURROGATE.test(name)) return API_KEY_NAME_PROBLEMS.loneSurrogate
  return undefined
}

/** True when `scopes` grant `needed`; `admin` grants every scope. */
export function hasScope(scopes: readonly ApiKeyScope[], needed: ApiKeyScope): boolean {
  return scopes.includes(needed) || scopes.includes('admin')
}

export interface ApiKeyInfo {
  readonly id: string
  readonly name: string
  readonly scopes: readonly ApiKeyScope[]
  readonly createdAt: string
  readonly expiresAt: string | null
  readonly revokedAt: string | null
  readonly lastUsedAt: string | null
}

/** The outcome of presenting a key; the reasons let the API answer with a stable 401 body. */
export type ApiKeyCheck =
  | { readonly ok: true; readonly key: ApiKeyInfo }
  | { readonly ok: false; readonly reason: 'invalid' | 'expired' | 'revoked'; readonly keyId: string | null }

/** API keys: random, shown once, stored hashed, compared in constant time. */
export interface ApiKeyRegistry {
  create(input: {
    readonly name: string
    readonly scopes: readonly ApiKeyScope[]
    readonly expiresAt?: Date | null
  }): { readonly key: string; readonly info: ApiKeyInfo }
  list(): readonly ApiKeyInfo[]
  /** Returns the revoked key; throws ApiKeyNotFoundError for an unknown id. */
  revoke(id: string): ApiKeyInfo
  check(presented: string): ApiKeyCheck
}

/**
 * Errors the ports raise. Adapters translate their own failures into these at their boundary
 * (keeping the original as `cause`); the API maps each `name` to one status code.
 */

/** The thing asked for does not exist (an outbox entry, a peer, an API key, a share). */
export class ResourceNotFoundError extends DmnError {
  override name = 'ResourceNotFoundError'
  readonly resource: string

  constructor(resource: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.resource = resource
  }
}

/** An API key id that the registry does not hold. */
export class ApiKeyNotFoundError extends ResourceNotFoundError {
  override name = 'ApiKeyNotFoundError'

  constructor(id: string) {
    super('api_key', `no API key with id ${id}`)
  }
}

/** The recipient is neither a PeerId nor a 0x Ethereum address (a well-formed address that nobody is known by waits `unresolved`). */
export class UnknownRecipientError extends DmnError {
  override name = 'UnknownRecipientError'
}

/** A request the node refuses as it stands (sharing with itself, with a denied peer, ...). */
export class InvalidRequestError extends DmnError {
  override name = 'InvalidRequestError'
  /** The request field at fault, as the API names it. */
  readonly field: string

  constructor(field: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.field = field
  }
}

/** The request conflicts with the current state (retrying an entry that has not failed, ...). */
export class StateConflictError extends DmnError {
  override name = 'StateConflictError'
}

/** A dependency the operation needs is not available now (chain down, peer without a TPM, ...). */
export class DependencyUnavailableError extends DmnError {
  override name = 'DependencyUnavailableError'
  readonly dependency: string

  constructor(dependency: string, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.dependency = dependency
  }
}
