/**
 * The share domain's vocabulary, the one place every layer takes it from: tiers and their wire
 * codes, the delivery and audit states of a share, the shapes of identifiers, and size limits. The
 * API's schemas, the config schema, the envelope codec and the contract encoding all use these.
 */

/** Security tiers, weakest first. The tier sets the minimum checks a share must pass. */
export const TIERS = ['standard', 'high', 'maximum'] as const
export type Tier = (typeof TIERS)[number]

/**
 * Each tier's codes on the wire. Both are protocol formats and never change: `envelope` is the u8 in
 * the signed envelope header (0 is left unused, so a zeroed header names no tier); `chain` is the
 * `uint8 tier` of the AuditTrail contract's `recordShare`, which refuses codes above maximum.
 * Written out rather than derived from the order of TIERS, so reordering that list moves no code.
 */
const TIER_CODES: { readonly [T in Tier]: { readonly envelope: number; readonly chain: number } } = {
  standard: { envelope: 1, chain: 0 },
  high: { envelope: 2, chain: 1 },
  maximum: { envelope: 3, chain: 2 }
}

const codesOn = (wire: 'envelope' | 'chain') =>
  Object.freeze(Object.fromEntries(TIERS.map((t) => [t, TIER_CODES[t][wire]]))) as {
    readonly [T in Tier]: number
  }

/** The tier's code in the envelope header. */
export const TIER_ENVELOPE_CODE = codesOn('envelope')

/** The tier's code as the AuditTrail contract records it. */
export const TIER_CHAIN_CODE = codesOn('chain')

/** The tier an envelope header's code names, or undefined for an unknown code. */
export function tierOfEnvelopeCode(code: number): Tier | undefined {
  return TIERS.find((t) => TIER_ENVELOPE_CODE[t] === code)
}

/** The tier a contract event's code names, or undefined for an unknown code. */
export function tierOfChainCode(code: number): Tier | undefined {
  return TIERS.find((t) => TIER_CHAIN_CODE[t] === code)
}

export function isTier(value: unknown): value is Tier {
  return typeof value === 'string' && (TIERS as readonly string[]).includes(value)
}

/** Which way a share goes, seen from this node: `out` it sends, `in` it received. */
export const SHARE_DIRECTIONS = ['out', 'in'] as const
export type ShareDirection = (typeof SHARE_DIRECTIONS)[number]

/**
 * Where a share stands on the network: an outgoing one is `queued`, `delivering`, then `delivered`
 * or (after its expiry) `failed`; one addressed to an Ethereum address that neither a known peer nor
 * an identity record on chain binds yet starts `unresolved` and is `queued` once one does. An
 * incoming one is `received`.
 */
export const DELIVERY_STATES = [
  'unresolved',
  'queued',
  'delivering',
  'delivered',
  'failed',
  'received'
] as const
export type DeliveryState = (typeof DELIVERY_STATES)[number]

/** The states an outgoing share is accepted in. */
export const ACCEPTED_STATES = ['queued', 'unresolved'] as const satisfies readonly DeliveryState[]
export type AcceptedState = (typeof ACCEPTED_STATES)[number]

/**
 * The share's state machine: every move a share may make. `unresolved` -> `queued` when the
 * recipient's PeerId is found (the audit event is queued then, as it names the PeerId), or `failed`
 * at its expiry or when the registry names a peer it must not go to; `queued` -> `delivering` when an
 * attempt claims it, back to `queued` when the attempt fails before the expiry (or the node stops),
 * `delivered` with a verified receipt, `failed` at the expiry. `delivered`, `failed` and `received`
 * are final.
 */
export const SHARE_TRANSITIONS: { readonly [S in DeliveryState]: readonly DeliveryState[] } = {
  unresolved: ['queued', 'failed'],
  queued: ['delivering', 'failed'],
  delivering: ['delivered', 'queued', 'failed'],
  delivered: [],
  failed: [],
  received: []
}

/** Whether a share may move from `from` to `to`. */
export function canTransition(from: DeliveryState, to: DeliveryState): boolean {
  return SHARE_TRANSITIONS[from].includes(to)
}

/** Where an audit event (of a share, a receipt, a node, a log anchor) stands on the chain. */
export const AUDIT_STATES = ['pending', 'sent', 'confirmed', 'failed'] as const
export type AuditState = (typeof AUDIT_STATES)[number]

/**
 * Where a share's audit stands: an outgoing share's is its events' state (AUDIT_STATES). A share
 * this node received is anchored by its sender, so the recipient knows only what the chain holds:
 * `pending` until the sender's share record is there, `recorded` once it is, `confirmed` once the
 * receipt is anchored too, each counted only when its submitter is the sender's bound account.
 */
export const SHARE_AUDIT_STATES = ['pending', 'sent', 'recorded', 'confirmed', 'failed'] as const
export type ShareAuditState = (typeof SHARE_AUDIT_STATES)[number]

/** How shares reach the chain: one transaction each, or Merkle batches (`chain.mode`). */
export const AUDIT_MODES = ['per-share', 'batch'] as const
export type AuditMode = (typeof AUDIT_MODES)[number]

/**
 * Why a share has no transaction hash yet. In per-share mode an outgoing share's transaction is
 * signed when the share is accepted, so it has one from its first answer unless the chain was not
 * reached since the node started (`awaiting_chain`). `batch`: its record waits for a Merkle batch,
 * whose transaction is signed when the batch is formed. `anchored_by_sender`: a received share is
 * recorded by its sender, seen once this node's index of the chain has it. `audit_failed`: the
 * chain refused the event. `recipient_unresolved`: the share's record names the recipient's PeerId,
 * which is not known yet (the share is `unresolved`, or failed before it was resolved).
 */
export const TX_HASH_PENDING_REASONS = [
  'awaiting_chain',
  'batch',
  'anchored_by_sender',
  'audit_failed',
  'recipient_unresolved'
] as const
export type TxHashPendingReason = (typeof TX_HASH_PENDING_REASONS)[number]

/**
 * Whether an outgoing share's recipient is known by its PeerId: the recipient column holds the 0x
 * address only while the share was never resolved (`unresolved`, or failed in that state).
 */
export function recipientResolved(share: {
  readonly direction: ShareDirection
  readonly recipient: string
}): boolean {
  return share.direction === 'in' || !ETH_ADDRESS_PATTERN.test(share.recipient)
}

/** Why `share` has no transaction hash, or null when it has one. */
export function txHashPendingReason(
  share: {
    readonly direction: ShareDirection
    readonly audit: ShareAuditState
    readonly txHash: string | null
    /** Whether the share has an audit event at all (an unresolved share has none yet). */
    readonly audited?: boolean
  },
  mode: AuditMode
): TxHashPendingReason | null {
  if (share.txHash !== null) return null
  if (share.direction === 'in') return 'anchored_by_sender'
  if (share.audited === false) return 'recipient_unresolved'
  if (share.audit === 'failed') return 'audit_failed'
  return mode === 'batch' ? 'batch' : 'awaiting_chain'
}

/** Data is at most 1 MiB, counted in bytes (of its UTF-8 encoding when it arrives as text). */
export const MAX_DATA_BYTES = 1024 * 1024

/** An Ethereum address: 0x and 20 bytes of hex in either case (an EIP-55 checksum is not required). */
export const ETH_ADDRESS_PATTERN = /^0x[a-fA-F0-9]{40}$/

/** A libp2p PeerId as libp2p prints it: a base58btc multihash. */
export const PEER_ID_PATTERN = /^[1-9A-HJ-NP-Za-km-z]{32,128}$/

/** A share id is 128 random bits, written as 32 lowercase hex digits. */
export const SHARE_ID_PATTERN = /^[0-9a-f]{32}$/

/** `data_hash` is SHA-256 of the plaintext, 64 lowercase hex digits. */
export const DATA_HASH_PATTERN = /^[0-9a-f]{64}$/

/** A data hash as clients may write it: 64 hex digits in either case (the node answers in lowercase). */
export const DATA_HASH_INPUT_PATTERN = /^[0-9a-fA-F]{64}$/

/**
 * An unpaired UTF-16 surrogate (JSON's `\ud800` escape decodes to one). It cannot be encoded as
 * UTF-8: storing or hashing the string would replace it with U+FFFD, so the node would keep other
 * text than was sent. With the u flag a valid pair is one code point, so only unpaired halves match.
 */
export const LONE_SURROGATE = /[\uD800-\uDFFF]/u
