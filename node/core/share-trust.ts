/**
 * The tier rules on peer trust: which trust a tier needs of the other end, checked by the sender
 * before sealing and by the recipient before opening.
 */
import { InsufficientTrustError } from './share-errors.ts'
import type { Tier } from './share.ts'
import type { PeerTrust } from './share-ports.ts'

const RANK: Record<PeerTrust, number> = { unknown: 0, pinned: 1, allowlisted: 2, ca: 3 }

/**
 * The tier's minimum trust: standard >= signature with nonce (a pinned key is enough);
 * high and maximum need trust the operator established (allowlist) or a CA chain. Maximum adds a TPM
 * attestation, which the sender checks before sealing.
 */
export function minimumTrustFor(tier: Tier): PeerTrust {
  return tier === 'standard' ? 'pinned' : 'allowlisted'
}

/** Throws InsufficientTrustError when `trust` is below what `tier` needs. */
export function assertTrustFor(tier: Tier, trust: PeerTrust, peerId: string): void {
  if (RANK[trust] < RANK[minimumTrustFor(tier)]) {
    throw new InsufficientTrustError(
      `peer ${peerId} is trusted as ${trust}; tier ${tier} needs ${minimumTrustFor(tier)}`
    )
  }
}
