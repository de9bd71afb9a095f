/**
 * Accepting a share: validate the request, route the recipient, hash the data once, and write the
 * record, the share row and its audit events in one transaction, before any network I/O. The checks
 * run at once and the write is handed back (`prepareShare`), so an adapter can run it in a
 * transaction shared with other acceptances (node/store/group-commit.ts). Resolution
 * (resolve-share.ts, for an address nobody is known by yet) and delivery (deliver-share.ts) follow in
 * the background.
 */
import { createHash, randomBytes } from 'node:crypto'
import { AttestationNotConfiguredError } from './errors.ts'
import { UnknownRecipientError } from './ports.ts'
import { type AcceptedState, ETH_ADDRESS_PATTERN, isTier, MAX_DATA_BYTES, type Tier } from './share.ts'
import { InvalidShareRequestError, PeerDeniedError } from './share-errors.ts'
import type { AuditLedger, Clock, PeerDirectory, ShareStore, StoredShare } from './share-ports.ts'

/** What accepting a share needs. */
export interface AcceptShareComponents<S extends StoredShare> {
  readonly store: ShareStore<S>
  readonly ledger: AuditLedger<S>
  readonly peers: Pick<PeerDirectory, 'peerIdOfAddress' | 'parsePeerId' | 'isDenied'>
  readonly clock: Clock
  /** This node's PeerId. */
  readonly selfPeerId: string
  /** Whether maximum-tier recipients can be attested; without it the tier is refused up front. */
  readonly canAttest: boolean
  /** How long delivery is retried before the share fails. */
  readonly shareExpiryMs: number
}

export interface AcceptShareInput<S extends StoredShare = StoredShare> {
  readonly data: Uint8Array
  /** A PeerId or a 0x Ethereum address. */
  readonly recipient: string
  readonly tier?: Tier
  /**
   * Runs inside the share's transaction once its row and audit event are written: what it writes on
   * the store's connection commits with the share or not at all (the API keeps a request's answer
   * this way). It must not await; when it throws, the share rolls back with it.
   */
  readonly alsoInTransaction?: (share: S) => void
}

/** SHA-256 of the plaintext, 64 lowercase hex: the share's `data_hash`. */
export function dataHashOf(plaintext: Uint8Array): string {
  return createHash('sha256').update(plaintext).digest('hex')
}

/**
 * Where a share for `label` goes: the PeerId it names, or that the peer directory knows by that
 * Ethereum address (`queued`); a well-formed address nobody is known by yet waits `unresolved` under
 * the address in lower case. Throws UnknownRecipientError for a label that is neither.
 */
export function routeRecipient(
  peers: Pick<PeerDirectory, 'peerIdOfAddress' | 'parsePeerId'>,
  label: string
): { readonly state: AcceptedState; readonly recipient: string } {
  if (typeof label !== 'string') throw new UnknownRecipientError('recipient must be a string')
  if (ETH_ADDRESS_PATTERN.test(label)) {
    const peerId = peers.peerIdOfAddress(label)
    return peerId
      ? { state: 'queued', recipient: peerId }
      : { state: 'unresolved', recipient: label.toLowerCase() }
  }
  const peerId = peers.parsePeerId(label)
  if (!peerId) throw new UnknownRecipientError('recipient is neither a PeerId nor a 0x Ethereum address')
  return { state: 'queued', recipient: peerId }
}

/**
 * Queues a share (`queued`, or `unresolved` for an address nobody is known by yet; resolve-share.ts
 * takes it from there) and returns its stored row. Throws InvalidShareRequestError, UnknownRecipientError,
 * PeerDeniedError or AttestationNotConfiguredError before anything is written; when the ledger
 * throws, the record and the share row roll back with it.
 */
export function acceptShare<S extends StoredShare>(
  components: AcceptShareComponents<S>,
  input: AcceptShareInput<S>
): S {
  return prepareShare(components, input)()
}

/**
 * Checks a share request now, as `acceptShare` does, and returns its write: a function that writes
 * the record, the share row and its audit event in one `ShareStore` transaction (a savepoint when
 * it runs inside an open transaction) and returns the stored row. Throws the same errors as
 * `acceptShare`, before anything is written.
 */
export function prepareShare<S extends StoredShare>(
  components: AcceptShareComponents<S>,
  input: AcceptShareInput<S>
): () => S {
  const tier = input.tier ?? 'standard'
  if (!isTier(tier))
    throw new InvalidShareRequestError(`unknown tier ${String(tier)}`, { field: 'security_tier' })
  if (!(input.data instanceof Uint8Array)) throw new InvalidShareRequestError('data must be bytes')
  if (input.data.byteLength > MAX_DATA_BYTES) {
    throw new InvalidShareRequestError(`data of ${input.data.byteLength} bytes exceeds ${MAX_DATA_BYTES}`)
  }
  if (tier === 'maximum' && !components.canAttest) {
    throw new AttestationNotConfiguredError(
      'the maximum tier needs TPM attestation, which this node is not configured for'
    )
  }
  const { state, recipient } = routeRecipient(components.peers, input.recipient)
  if (recipient === components.selfPeerId)
    throw new InvalidShareRequestError('a node cannot share with itself', { field: 'recipient' })
  if (components.peers.isDenied(recipient)) throw new PeerDeniedError(`recipient ${recipient} is denied`)
  const dataHash = dataHashOf(input.data)
  const now = components.clock.now()
  const { store, ledger } = components
  return () =>
    store.transaction(() => {
      const record = store.putRecord(input.data, dataHash)
      const share = store.insertShare({
        shareId: randomBytes(16).toString('hex'),
        direction: 'out',
        recordId: record.id,
        dataHash,
        sender: components.selfPeerId,
        recipient,
        recipientLabel: input.recipient,
        tier,
        state,
        nextAttemptMs: now,
        expiresMs: now + components.shareExpiryMs
      })
      // The audit event names the recipient's PeerId: an unresolved share gets it once resolved.
      if (state === 'queued') ledger.shareQueued(share)
      input.alsoInTransaction?.(share)
      return share
    })
}
