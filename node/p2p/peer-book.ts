import type { Db } from '../store/database.ts'
import { HEALTHY_SUCCESS_RATE } from './constants.ts'

/**
 * The persistent peer book (table `peers`): identity, addresses, certificate and the keys it binds,
 * how the peer is trusted, operator status, and health. Survives restarts, so known peers are dialled
 * again without discovery.
 */

export type PeerTrust = 'unknown' | 'pinned' | 'allowlisted' | 'ca'
export type PeerStatus = 'active' | 'denied'

export interface PeerEntry {
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
  /** Share of recent contacts that succeeded; null before the first contact. */
  readonly successRate: number | null
  readonly healthy: boolean
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

/** Counts are halved past this many contacts, so the success rate follows recent behaviour. */
const CONTACT_WINDOW = 64
/** Weight of a new latency sample in the moving average. */
const LATENCY_ALPHA = 0.3

function toEntry(r: RawPeer): PeerEntry {
  const total = r.successes + r.failures
  const successRate = total === 0 ? null : r.successes / total
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
    failures: r.failures,
    successRate,
    healthy: r.status === 'active' && r.last_seen_at !== null && (successRate ?? 0) >= HEALTHY_SUCCESS_RATE
  }
}

const now = () => new Date().toISOString()

export interface CertificateRecord {
  readonly certificatePem: string
  readonly signingKeyFpr: string
  readonly encryptionKeyFpr: string
  readonly ethAddress?: string | undefined
  readonly trust: Exclude<PeerTrust, 'unknown'>
}

export class PeerBook {
  readonly #db: Db

  constructor(db: Db) {
    this.#db = db
  }

  get(peerId: string): PeerEntry | undefined {
    const raw = this.#db.prepare<[string], RawPeer>('SELECT * FROM peers WHERE peer_id = ?').get(peerId)
    return raw ? toEntry(raw) : undefined
  }

  /** The peer whose certificate binds this Ethereum address (case-insensitive). */
  getByEthAddress(address: string): PeerEntry | undefined {
    const raw = this.#db
      .prepare<[string], RawPeer>(
        "SELECT * FROM peers WHERE lower(eth_address) = lower(?) AND status = 'active' ORDER BY updated_at DESC LIMIT 1"
      )
      .get(address)
    return raw ? toEntry(raw) : undefined
  }

  /** Every peer, healthy ones first, then by latency. */
  list(opts: { healthy?: boolean } = {}): PeerEntry[] {
    const all = this.#db
      .prepare<[], RawPeer>('SELECT * FROM peers ORDER BY peer_id')
      .all()
      .map(toEntry)
      .sort((a, b) => Number(b.healthy) - Number(a.healthy) || (a.latencyMs ?? 1e9) - (b.latencyMs ?? 1e9))
    return opts.healthy === undefined ? all : all.filter((p) => p.healthy === opts.healthy)
  }

  /** Creates the entry if missing (trust unknown, status active). */
  ensure(peerId: string): PeerEntry {
    const at = now()
    this.#db
      .prepare(
        'INSERT INTO peers (peer_id, created_at, updated_at) VALUES (?, ?, ?) ON CONFLICT (peer_id) DO NOTHING'
      )
      .run(peerId, at, at)
    return this.get(peerId) as PeerEntry
  }

  setAddresses(peerId: string, addresses: readonly string[]): void {
    this.ensure(peerId)
    this.#db
      .prepare('UPDATE peers SET addresses = ?, updated_at = ? WHERE peer_id = ?')
      .run(JSON.stringify([...new Set(addresses)].sort()), now(), peerId)
  }

  setStatus(peerId: string, status: PeerStatus): void {
    this.ensure(peerId)
    this.#db
      .prepare('UPDATE peers SET status = ?, updated_at = ? WHERE peer_id = ?')
      .run(status, now(), peerId)
  }

  /** Operator allowlist: raises the peer to `allowlisted` (keeps `ca`, which is stronger). */
  allow(peerId: string): void {
    this.ensure(peerId)
    this.#db
      .prepare(
        `UPDATE peers SET status = 'active', trust = CASE WHEN trust = 'ca' THEN 'ca' ELSE 'allowlisted' END,
           updated_at = ? WHERE peer_id = ?`
      )
      .run(now(), peerId)
  }

  isDenied(peerId: string): boolean {
    return (
      this.#db.prepare<[string], { status: string }>('SELECT status FROM peers WHERE peer_id = ?').get(peerId)
        ?.status === 'denied'
    )
  }

  recordCertificate(peerId: string, cert: CertificateRecord): void {
    this.ensure(peerId)
    this.#db
      .prepare(
        `UPDATE peers SET certificate_pem = ?, signing_key_fpr = ?, encryption_key_fpr = ?, eth_address = ?,
           trust = ?, last_seen_at = ?, updated_at = ? WHERE peer_id = ?`
      )
      .run(
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

  /** A contact with the peer succeeded (with a round-trip time when measured) or failed. */
  recordContact(peerId: string, ok: boolean, latencyMs?: number): void {
    this.ensure(peerId)
    const at = now()
    this.#db.transaction(() => {
      this.#db
        .prepare(
          `UPDATE peers SET successes = successes + ?, failures = failures + ?,
             last_seen_at = CASE WHEN ? THEN ? ELSE last_seen_at END,
             latency_ms = CASE WHEN ? IS NULL THEN latency_ms WHEN latency_ms IS NULL THEN ?
                               ELSE latency_ms * ? + ? * ? END,
             updated_at = ? WHERE peer_id = ?`
        )
        .run(
          ok ? 1 : 0,
          ok ? 0 : 1,
          ok ? 1 : 0,
          at,
          latencyMs ?? null,
          latencyMs ?? null,
          1 - LATENCY_ALPHA,
          LATENCY_ALPHA,
          latencyMs ?? null,
          at,
          peerId
        )
      this.#db
        .prepare(
          `UPDATE peers SET successes = successes / 2, failures = failures / 2
             WHERE peer_id = ? AND successes + failures > ?`
        )
        .run(peerId, CONTACT_WINDOW)
    })()
  }
}
