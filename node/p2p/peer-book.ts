import type { RegisteredIdentity } from '../core/share-ports.ts'
import { keyFingerprint } from '../crypto/index.ts'
import type { PeerCertificate, PeerRepository, PeerRow, PeerStatus, PeerTrust } from '../store/peers.ts'
import { IdentityRecordMismatchError } from './errors.ts'
import { CONTACT_WINDOW, HEALTHY_SUCCESS_RATE, LATENCY_ALPHA } from './constants.ts'

/**
 * The persistent peer book (table `peers`): identity, addresses, certificate and the keys it binds,
 * how the peer is trusted, operator status, and health. Survives restarts, so known peers are dialled
 * again without discovery.
 */

export type { PeerStatus, PeerTrust }

/** A peer as the node sees it: what is stored, plus its health. */
export interface PeerEntry extends PeerRow {
  /** Share of recent contacts that succeeded; null before the first contact. */
  readonly successRate: number | null
  readonly healthy: boolean
}

/** What the peer book needs. */
export interface PeerBookComponents {
  readonly peers: PeerRepository
}

/** Settings of the peer book (all optional). */
export interface PeerBookInit {
  /** Contacts past which the counts are halved (CONTACT_WINDOW). */
  readonly contactWindow?: number
  /** Weight of a new latency sample in the moving average (LATENCY_ALPHA). */
  readonly latencyAlpha?: number
}

function toEntry(r: PeerRow): PeerEntry {
  const total = r.successes + r.failures
  const successRate = total === 0 ? null : r.successes / total
  return {
    ...r,
    successRate,
    healthy: r.status === 'active' && r.lastSeenAt !== null && (successRate ?? 0) >= HEALTHY_SUCCESS_RATE
  }
}

export type { PeerBook }

/** The peer book over the peers repository: adds health to what is stored, keeps addresses sorted. */
class PeerBook {
  readonly #peers: PeerRepository
  readonly #contacts: { readonly latencyAlpha: number; readonly window: number }

  constructor(components: PeerBookComponents, init: PeerBookInit) {
    this.#peers = components.peers
    this.#contacts = {
      latencyAlpha: init.latencyAlpha ?? LATENCY_ALPHA,
      window: init.contactWindow ?? CONTACT_WINDOW
    }
  }

  get(peerId: string): PeerEntry | undefined {
    const row = this.#peers.get(peerId)
    return row ? toEntry(row) : undefined
  }

  /** The peer whose certificate binds this Ethereum address (case-insensitive). */
  getByEthAddress(address: string): PeerEntry | undefined {
    const row = this.#peers.getActiveByEthAddress(address)
    return row ? toEntry(row) : undefined
  }

  /** Every peer, healthy ones first, then by latency. */
  list(opts: { healthy?: boolean } = {}): PeerEntry[] {
    const all = this.#peers
      .list()
      .map(toEntry)
      .sort((a, b) => Number(b.healthy) - Number(a.healthy) || (a.latencyMs ?? 1e9) - (b.latencyMs ?? 1e9))
    return opts.healthy === undefined ? all : all.filter((p) => p.healthy === opts.healthy)
  }

  /** Creates the entry if missing (trust unknown, status active). */
  ensure(peerId: string): PeerEntry {
    this.#peers.ensure(peerId)
    return this.get(peerId) as PeerEntry
  }

  setAddresses(peerId: string, addresses: readonly string[]): void {
    this.ensure(peerId)
    this.#peers.setAddresses(peerId, [...new Set(addresses)].sort())
  }

  setStatus(peerId: string, status: PeerStatus): void {
    this.ensure(peerId)
    this.#peers.setStatus(peerId, status)
  }

  /** Operator allowlist: raises the peer to `allowlisted` (keeps `ca`, which is stronger). */
  allow(peerId: string): void {
    this.ensure(peerId)
    this.#peers.allow(peerId)
  }

  isDenied(peerId: string): boolean {
    return this.#peers.statusOf(peerId) === 'denied'
  }

  recordCertificate(peerId: string, cert: PeerCertificate): void {
    this.ensure(peerId)
    this.#peers.setCertificate(peerId, cert)
  }

  /**
   * A peer first known through its identity record on chain: its row holds the record's key
   * fingerprints (no certificate yet), so the trust policy accepts only a certificate naming those
   * keys. Throws IdentityRecordMismatchError when the peer already has other keys on record.
   */
  bindRegistered(identity: RegisteredIdentity): void {
    const keys = {
      signingKeyFpr: keyFingerprint(identity.signingPublicKeyPem),
      encryptionKeyFpr: keyFingerprint(identity.encryptionPublicKeyPem),
      ethAddress: identity.account
    }
    this.ensure(identity.peerId)
    if (this.#peers.bindKeys(identity.peerId, keys)) return
    const held = this.#peers.get(identity.peerId)
    if (held?.signingKeyFpr !== keys.signingKeyFpr || held?.encryptionKeyFpr !== keys.encryptionKeyFpr) {
      throw new IdentityRecordMismatchError(
        `peer ${identity.peerId} holds keys ${held?.signingKeyFpr?.slice(0, 16)}… here, but the identity record of ${identity.account} on chain binds ${keys.signingKeyFpr.slice(0, 16)}…`,
        { peerId: identity.peerId }
      )
    }
  }

  /** A contact with the peer succeeded (with a round-trip time when measured) or failed. */
  recordContact(peerId: string, ok: boolean, latencyMs?: number): void {
    this.ensure(peerId)
    this.#peers.recordContact(peerId, ok, latencyMs, this.#contacts)
  }
}

/** The peer book over the node's peers table. */
export function createPeerBook(components: PeerBookComponents, init: PeerBookInit = {}): PeerBook {
  return new PeerBook(components, init)
}
