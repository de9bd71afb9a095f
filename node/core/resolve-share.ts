/**
 * Resolving a share that waits `unresolved`: its recipient was named by an Ethereum address that no
 * known peer's certificate bound when it was accepted. Each look-up asks the peer directory again
 * (a peer met since may bind it), then the chain's identity registry; a valid record names the
 * PeerId and the keys the recipient's certificate must match. The recipient resolver (node/p2p)
 * keeps the timers; it runs `resolveShare` per look-up and asks `resolutionPlan` what to do after
 * one that did not resolve.
 */
import { ETH_ADDRESS_PATTERN } from './share.ts'
import {
  IdentityRecordMismatchError,
  InvalidShareRequestError,
  PeerDeniedError,
  RecipientNotRegisteredError
} from './share-errors.ts'
import type {
  AuditLedger,
  Clock,
  IdentityRegistry,
  PeerDirectory,
  ShareStore,
  StoredShare
} from './share-ports.ts'

/** What one look-up needs. */
export interface ResolveShareComponents<S extends StoredShare> {
  readonly store: Pick<ShareStore<S>, 'transaction' | 'markResolved'>
  readonly ledger: Pick<AuditLedger<S>, 'shareQueued'>
  readonly peers: Pick<PeerDirectory, 'peerIdOfAddress' | 'isDenied' | 'bindRegistered'>
  /** The chain's identity registry; without one only the peer directory can resolve an address. */
  readonly registry?: IdentityRegistry | undefined
  readonly clock: Clock
  /** This node's PeerId. */
  readonly selfPeerId: string
}

/** How a share was resolved: by a known peer's certificate, or by an identity record on chain. */
export type ResolvedVia = 'peer-book' | 'registry'

/** The address an unresolved share is for. */
export function unresolvedAddress(share: Pick<StoredShare, 'recipient' | 'recipientLabel'>): string {
  const label = share.recipientLabel ?? share.recipient
  return ETH_ADDRESS_PATTERN.test(label) ? label : share.recipient
}

/**
 * One look-up. On success the share moves to `queued` for the PeerId found and its audit event is
 * queued, in one transaction; returns the updated row (undefined when the share had left
 * `unresolved` meanwhile). Throws RecipientNotRegisteredError when nothing binds the address yet,
 * InvalidShareRequestError (the address is this node's own), PeerDeniedError or
 * IdentityRecordMismatchError (verdicts, see `resolutionPlan`), or the registry's error.
 */
export async function resolveShare<S extends StoredShare>(
  components: ResolveShareComponents<S>,
  share: S,
  options: { signal: AbortSignal }
): Promise<{ share: S; via: ResolvedVia } | undefined> {
  const address = unresolvedAddress(share)
  const known = components.peers.peerIdOfAddress(address)
  const identity =
    known === undefined && components.registry
      ? await components.registry.lookup(address.toLowerCase(), { signal: options.signal })
      : undefined
  const peerId = known ?? identity?.peerId
  if (peerId === undefined) {
    throw new RecipientNotRegisteredError(
      `no known peer and no identity record on chain binds ${address} yet`
    )
  }
  if (peerId === components.selfPeerId) {
    throw new InvalidShareRequestError('the address is registered by this node itself', {
      field: 'recipient'
    })
  }
  if (components.peers.isDenied(peerId)) throw new PeerDeniedError(`recipient ${peerId} is denied`)
  // Bound before the share is queued: its first delivery attempt already checks the record's keys.
  if (identity) components.peers.bindRegistered(identity)
  const { store, ledger } = components
  const resolved = store.transaction(() => {
    const row = store.markResolved(share.shareId, peerId, components.clock.now())
    if (row) ledger.shareQueued(row)
    return row
  })
  return resolved && { share: resolved, via: identity ? 'registry' : 'peer-book' }
}

/** What to do with a share after a look-up that did not resolve it. */
export interface ResolutionPlan {
  /** Mark the share failed: it expired, or the look-up's answer is a verdict on the recipient. */
  readonly final: boolean
  /** When to look again (Unix ms), unless final. */
  readonly nextLookupMs: number
  /** For the share's last_error column, at most 1000 characters. */
  readonly lastError: string
}

/** Answers that no later look-up changes: the share fails at once. */
const VERDICTS = [InvalidShareRequestError, PeerDeniedError, IdentityRecordMismatchError]

/**
 * The plan after a look-up of `share` failed with `err`: look again after `intervalMs` (the last
 * look-up lands on the expiry itself, so a share never fails before its time), fail at the expiry,
 * or at once on a verdict. A stopping node leaves the share due at once.
 */
export function resolutionPlan(
  share: Pick<StoredShare, 'expiresMs'>,
  err: unknown,
  context: { readonly nowMs: number; readonly stopping: boolean },
  settings: { readonly intervalMs: number }
): ResolutionPlan {
  const { nowMs: now, stopping } = context
  const name = err instanceof Error ? err.name : 'Error'
  const message = err instanceof Error ? err.message : String(err)
  const verdict = VERDICTS.some((type) => err instanceof type)
  const expired = share.expiresMs !== null && now >= share.expiresMs
  const final = !stopping && (verdict || expired)
  const detail = `${name}: ${message}`
  const lastError = final && !verdict ? `expired unresolved: ${detail}` : detail
  const nextLookupMs = stopping
    ? now
    : Math.min(now + settings.intervalMs, share.expiresMs ?? Number.MAX_SAFE_INTEGER)
  return { final, nextLookupMs, lastError: lastError.slice(0, 1000) }
}
