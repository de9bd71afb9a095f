import { keyFingerprint, parseNodeCertificate, verifyNodeCertificate } from '../crypto/index.ts'
import { P2P_DEFAULTS } from './defaults.ts'
import {
  CertificateBindingError,
  IdentityRecordMismatchError,
  PeerDeniedError,
  PinnedKeyChangedError
} from './errors.ts'
import type { PeerBook, PeerEntry, PeerTrust } from './peer-book.ts'

/**
 * The trust policy (README "Peer to peer"). A peer's node certificate is accepted only when it
 * names the authenticated remote PeerId; trust then comes, in rising strength, from pinning on first
 * contact, the operator allowlist, or a chain to a configured consortium CA. A pinned key that changes
 * is refused: the old binding stays until an operator removes it. A peer first known through its
 * identity record on chain is pinned to the record's keys before its first certificate arrives.
 */

export type TrustMode = 'pin' | 'allowlist' | 'ca'

/** What the trust policy needs. */
export interface TrustPolicyComponents {
  readonly peerBook: PeerBook
}

/** Settings of the trust policy; each defaults to the configuration's default of `p2p`. */
export interface TrustPolicyInit {
  readonly mode?: TrustMode
  /** PeerIds the operator allows up front (config); more are added through `allowPeer`. */
  readonly allowlist?: readonly string[]
  /** PEMs of the consortium CA certificates; a peer certificate chaining to one is trusted as `ca`. */
  readonly caCertificatePems?: readonly string[]
}

/** The keys of a verified peer, ready for envelope and receipt checks. */
export interface VerifiedPeer {
  readonly peerId: string
  readonly trust: Exclude<PeerTrust, 'unknown'>
  readonly signingPublicKeyPem: string
  readonly encryptionPublicKeyPem: string
  readonly ethAddress: string | undefined
  readonly certificatePem: string
}

export { assertTrustFor, minimumTrustFor } from '../core/share-trust.ts'

export type { TrustPolicy }

class TrustPolicy {
  readonly #peerBook: PeerBook
  readonly #mode: TrustMode
  readonly #allowlist: Set<string>
  readonly #caCertificatePems: readonly string[]

  constructor(components: TrustPolicyComponents, init: TrustPolicyInit) {
    this.#peerBook = components.peerBook
    this.#mode = init.mode ?? P2P_DEFAULTS.trust
    this.#allowlist = new Set(init.allowlist ?? P2P_DEFAULTS.allowlist)
    // The configuration names CA files; without any, no peer is trusted as `ca`.
    this.#caCertificatePems = init.caCertificatePems ?? []
  }

  /** Whether a connection with this peer is refused outright (gater). */
  refuses(peerId: string): boolean {
    if (this.#peerBook.isDenied(peerId)) return true
    if (this.#mode === 'allowlist') return !this.isAllowlisted(peerId)
    return false
  }

  isAllowlisted(peerId: string): boolean {
    return this.#allowlist.has(peerId) || this.#peerBook.get(peerId)?.trust === 'allowlisted'
  }

  /**
   * Checks a certificate presented by `remotePeer` over an authenticated connection and records it.
   * Throws CertificateBindingError, PeerDeniedError, PinnedKeyChangedError or crypto's certificate errors.
   */
  accept(remotePeer: string, certificatePem: string): VerifiedPeer {
    const existing: PeerEntry | undefined = this.#peerBook.get(remotePeer)
    if (existing?.status === 'denied')
      throw new PeerDeniedError(`peer ${remotePeer} is denied by the operator`)
    let viaCa = false
    if (this.#caCertificatePems.length > 0) {
      try {
        verifyNodeCertificate(certificatePem, { caCertificatePems: [...this.#caCertificatePems] })
        viaCa = true
      } catch (err) {
        if (this.#mode === 'ca') throw err
      }
    }
    if (!viaCa) verifyNodeCertificate(certificatePem, {})
    const cert = parseNodeCertificate(certificatePem)
    if (cert.peerId !== remotePeer) {
      throw new CertificateBindingError(
        `certificate names ${cert.peerId}, the connection is from ${remotePeer}`
      )
    }
    const signingKeyFpr = keyFingerprint(cert.signingPublicKeyPem)
    const encryptionKeyFpr = keyFingerprint(cert.encryptionPublicKeyPem)
    const keysChanged =
      existing?.signingKeyFpr != null &&
      (existing.signingKeyFpr !== signingKeyFpr || existing.encryptionKeyFpr !== encryptionKeyFpr)
    // Keys without a certificate come from the peer's identity record on chain (PeerBook.bindRegistered).
    if (keysChanged && existing?.certificatePem === null) {
      throw new IdentityRecordMismatchError(
        `peer ${remotePeer} presented keys ${signingKeyFpr.slice(0, 16)}… but its identity record on chain binds ${existing.signingKeyFpr?.slice(0, 16)}…`,
        { peerId: remotePeer }
      )
    }
    // Under a CA, a new certificate for new keys is a legitimate rotation; a pin admits no such thing.
    if (keysChanged && !(viaCa && existing?.trust === 'ca')) {
      throw new PinnedKeyChangedError(
        `peer ${remotePeer} presented keys ${signingKeyFpr.slice(0, 16)}… but ${existing?.signingKeyFpr?.slice(0, 16)}… is pinned`
      )
    }
    let trust: VerifiedPeer['trust']
    if (viaCa) trust = 'ca'
    else if (this.isAllowlisted(remotePeer)) trust = 'allowlisted'
    else if (this.#mode === 'allowlist')
      throw new PeerDeniedError(`peer ${remotePeer} is not on the allowlist`)
    else trust = 'pinned'
    this.#peerBook.recordCertificate(remotePeer, {
      certificatePem,
      signingKeyFpr,
      encryptionKeyFpr,
      ethAddress: cert.ethAddress,
      trust
    })
    return {
      peerId: remotePeer,
      trust,
      signingPublicKeyPem: cert.signingPublicKeyPem,
      encryptionPublicKeyPem: cert.encryptionPublicKeyPem,
      ethAddress: cert.ethAddress,
      certificatePem
    }
  }
}

/** The trust policy over the peer book: the connection gater's verdict and the check of certificates. */
export function createTrustPolicy(
  components: TrustPolicyComponents,
  init: TrustPolicyInit = {}
): TrustPolicy {
  return new TrustPolicy(components, init)
}
