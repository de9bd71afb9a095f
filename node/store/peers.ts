import type { Db } from './database.ts'

/**
 * Known peers (table `peers`): identity, addresses, certificate and the keys it binds, how the peer
 * is trusted, operator status, and contact counts. What those mean (health, success rate) is the
 * peer book's business (node/p2p/peer-book.ts); this repository only stores them.
 */

export type PeerTrust = 'unknown' | 'pinned' | 'allowlisted' | 'ca'
export type PeerStatus = 'active' | 'denied'

/** A row of `peers` as stored. */
export interface PeerRow {
  readonly peerId: string
  readonly addresses: readonly string[]
  readonly certificatePem: string | null
  readonly signingKeyFpr: string | null
  readonly encryptionKeyFpr: string | null
  readonly ethAddress: string | null
  readonly trust: PeerTrust
  readonly status: PeerStatus
  readonly lastSeenAt: string | null
  readonly latencyMs: number | null
  readonly successes: number
  readonly failures: number
}

/** What a verified certificate binds for a peer. */
export interface PeerCertificate {
  readonly certificatePem: string
  readonly signingKeyFpr: string
  readonly encryptionKeyFpr: string
  readonly ethAddress?: string | undefined
  readonly trust: Exclude<PeerTrust, 'unknown'>
}

/** How a contact moves the peer's figures: latency as a moving average, counts halved past a window. */
export interface ContactAveraging {
  /** Weight of a new latency sample. */
  readonly latencyAlpha: number
  /** Counts are halved once successes + failures exceed this. */
  readonly window: number
}

interface RawPeer {
  peer_id: string
  addresses: string
  certificate_pem: string | null
  signing_key_fpr: string | null
  encryption_key_fpr: string | null
  eth_address: string | null
  trust: PeerTrust
  status: PeerStatus
  last_seen_at: string | null
  latency_ms: number | null
  successes: number
  failures: number
}

function toRow(r: RawPeer): PeerRow {
  return {
    peerId: r.peer_id,
    addresses: JSON.parse(r.addresses) as string[],
    certificatePem: r.certificate_pem,
    signingKeyFpr: r.signing_key_fpr,
    encryptionKeyFpr: r.encryption_key_fpr,
    ethAddress: r.eth_address,
    trust: r.trust,
    status: r.status,
    lastSeenAt: r.last_seen_at,
    latencyMs: r.latency_ms,
    successes: r.successes,
    failures: r.failures
  }
}

const now = () => new Date().toISOString()

/** Repository over `peers`. Synchronous, so it composes inside a caller's `db.transaction()`. */
export class PeerRepository {
  readonly #db: Db
  readonly #get
  readonly #byEthAddress
  readonly #all
  readonly #ensure
  readonly #setAddresses
  readonly #setStatus
  readonly #allow
  readonly #status
  readonly #setCertificate
  readonly #bindKeys
  readonly #countContact
  readonly #halveCounts

  constructor(db: Db) {
    this.#db = db
    this.#get = db.prepare<[string], RawPeer>('SELECT * FROM peers WHERE peer_id = ?')
    this.#byEthAddress = db.prepare<[string], RawPeer>(
      "SELECT * FROM peers WHERE lower(eth_address) = lower(?) AND status = 'active' ORDER BY updated_at DESC LIMIT 1"
    )
    this.#all = db.prepare<[], RawPeer>('SELECT * FROM peers ORDER BY peer_id')
    this.#ensure = db.prepare<[string, string, string]>(
      'INSERT INTO peers (peer_id, created_at, updated_at) VALUES (?, ?, ?) ON CONFLICT (peer_id) DO NOTHING'
    )
    this.#setAddresses = db.prepare<[string, string, string]>(
      'UPDATE peers SET addresses = ?, updated_at = ? WHERE peer_id = ?'
    )
    this.#setStatus = db.prepare<[PeerStatus, string, string]>(
      'UPDATE peers SET status = ?, updated_at = ? WHERE peer_id = ?'
    )
    this.#allow = db.prepare<[string, string]>(
      `UPDATE peers SET status = 'active', trust = CASE WHEN trust = 'ca' THEN 'ca' ELSE 'allowlisted' END,
         updated_at = ? WHERE peer_id = ?`
    )
    this.#status = db.prepare<[string], { status: PeerStatus }>('SELECT status FROM peers WHERE peer_id = ?')
    this.#setCertificate = db.prepare<
      [string, string, string, string | null, PeerTrust, string, string, string]
    >(
      `UPDATE peers SET certificate_pem = ?, signing_key_fpr = ?, encryption_key_fpr = ?, eth_address = ?,
         trust = ?, last_seen_at = ?, updated_at = ? WHERE peer_id = ?`
    )
    this.#bindKeys = db.prepare<[string, string, string, string, string]>(
      `UPDATE peers SET signing_key_fpr = ?, encryption_key_fpr = ?, eth_address = ?, updated_at = ?
         WHERE peer_id = ? AND signing_key_fpr IS NULL`
    )
    this.#countContact = db.prepare(
      `UPDATE peers SET successes = successes + ?, failures = failures + ?,
         last_seen_at = CASE WHEN ? THEN ? ELSE last_seen_at END,
         latency_ms = CASE WHEN ? IS NULL THEN latency_ms WHEN latency_ms IS NULL THEN ?
                           ELSE latency_ms * ? + ? * ? END,
         updated_at = ? WHERE peer_id = ?`
    )
    this.#halveCounts = db.prepare<[string, number]>(
      `UPDATE peers SET successes = successes / 2, failures = failures / 2
         WHERE peer_id = ? AND successes + failures > ?`
    )
  }

  get(peerId: string): PeerRow | undefined {
    const raw = this.#get.get(peerId)
    return raw ? toRow(raw) : undefined
  }

  /** The active peer whose certificate binds this Ethereum address (case-insensitive), newest first. */
  getActiveByEthAddress(address: string): PeerRow | undefined {
    const raw = this.#byEthAddress.get(address)
    return raw ? toRow(raw) : undefined
  }

  /** Every peer, by PeerId. */
  list(): PeerRow[] {
    return this.#all.all().map(toRow)
  }

  /** The peer's operator status; undefined for a peer not in the table. */
  statusOf(peerId: string): PeerStatus | undefined {
    return this.#status.get(peerId)?.status
  }

  /** Creates the row if missing (trust unknown, status active). */
  ensure(peerId: string): void {
    const at = now()
    this.#ensure.run(peerId, at, at)
  }

  setAddresses(peerId: string, addresses: readonly string[]): void {
    this.#setAddresses.run(JSON.stringify(addresses), now(), peerId)
  }

  setStatus(peerId: string, status: PeerStatus): void {
    this.#setStatus.run(status, now(), peerId)
  }

  /** Makes the peer active and `allowlisted`, keeping `ca` (which is stronger). */
  allow(peerId: string): void {
    this.#allow.run(now(), peerId)
  }

  /** Stores what the peer's certificate binds, and counts it as seen now. */
  setCertificate(peerId: string, cert: PeerCertificate): void {
    this.#setCertificate.run(
      cert.certificatePem,
      cert.signingKeyFpr,
      cert.encryptionKeyFpr,
      cert.ethAddress ?? null,
      cert.trust,
      now(),
      now(),
      peerId
    )
  }

  /**
   * Binds a peer that has no keys on record yet (no certificate) to the keys and Ethereum address an
   * identity record names; false when the peer already has keys (nothing is changed then).
   */
  bindKeys(
    peerId: string,
    keys: { signingKeyFpr: string; encryptionKeyFpr: string; ethAddress: string }
  ): boolean {
    return (
      this.#bindKeys.run(keys.signingKeyFpr, keys.encryptionKeyFpr, keys.ethAddress, now(), peerId)
        .changes === 1
    )
  }

  /** Counts a contact that succeeded (with its round-trip time when measured) or failed, in one transaction. */
  recordContact(
    peerId: string,
    ok: boolean,
    latencyMs: number | undefined,
    averaging: ContactAveraging
  ): void {
    const at = now()
    this.#db.transaction(() => {
      this.#countContact.run(
        ok ? 1 : 0,
        ok ? 0 : 1,
        ok ? 1 : 0,
        at,
        latencyMs ?? null,
        latencyMs ?? null,
        1 - averaging.latencyAlpha,
        averaging.latencyAlpha,
        latencyMs ?? null,
        at,
        peerId
      )
      this.#halveCounts.run(peerId, averaging.window)
    })()
  }
}
