import { DmnError } from './errors.ts'

/**
 * Errors of the share use case: the refusals accept, deliver and receive raise. The p2p layer
 * re-exports them; refusals travel to the remote peer by `name` only.
 */

/** The trust policy denies this peer (operator deny, or not on the allowlist). */
export class PeerDeniedError extends DmnError {
  override name = 'PeerDeniedError'
}

/** The peer's trust is below what the share's tier requires. */
export class InsufficientTrustError extends DmnError {
  override name = 'InsufficientTrustError'
}

/** The envelope's header names another sender or recipient than the authenticated stream. */
export class SenderMismatchError extends DmnError {
  override name = 'SenderMismatchError'
}

/**
 * The share is refused as a request: bad data size, bad tier, sharing with oneself, the maximum tier
 * without an attestation verifier (field `security_tier`).
 */
export class InvalidShareRequestError extends DmnError {
  override name = 'InvalidShareRequestError'
  /** The request field at fault (`data`, `recipient`, `security_tier`). */
  readonly field: string

  constructor(message: string, options: { field?: string; cause?: unknown } = {}) {
    super(message, options)
    this.field = options.field ?? 'data'
  }
}

/** A receipt did not verify or does not match the share it answers. */
export class ReceiptMismatchError extends DmnError {
  override name = 'ReceiptMismatchError'
}

/**
 * The remote peer refused a message; `refusal` is the name of the error it raised (for example
 * `ReplayedNonceError`), kept as data because it happened on the other node.
 */
export class RemoteRefusalError extends DmnError {
  override name = 'RemoteRefusalError'
  readonly refusal: string
  /** The peer's hint (on `RateLimitedError`) of how long to wait before sending again. */
  readonly retryAfterMs: number | undefined

  constructor(refusal: string, message: string, options: { retryAfterMs?: number } = {}) {
    super(`peer refused: ${refusal}: ${message}`)
    this.refusal = refusal
    this.retryAfterMs = options.retryAfterMs
  }
}

/** Nothing with that data hash is stored here, nor served by any known peer. */
export class RecordNotFoundError extends DmnError {
  override name = 'RecordNotFoundError'
}

/**
 * No known peer's certificate and no valid identity record on chain binds the Ethereum address a
 * share is for (yet): the share waits `unresolved`.
 */
export class RecipientNotRegisteredError extends DmnError {
  override name = 'RecipientNotRegisteredError'
}

/**
 * A peer's keys are not those its identity record on chain binds: its certificate names other keys,
 * or this node already holds other keys for that PeerId. A security event, never retried into
 * acceptance.
 */
export class IdentityRecordMismatchError extends DmnError {
  override name = 'IdentityRecordMismatchError'
  /** The peer whose keys do not match. */
  readonly peerId: string | undefined

  constructor(message: string, options: { peerId?: string; cause?: unknown } = {}) {
    super(message, options)
    this.peerId = options.peerId
  }
}
