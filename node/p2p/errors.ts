import { DmnError } from '../core/errors.ts'

/**
 * Errors of the peer-to-peer layer. Refusals travel to the remote peer by `name` only, so both ends
 * match them the same way; the envelope and certificate checks raise node/crypto's errors, whose
 * names travel unchanged.
 */

/** A frame's announced length exceeds the protocol's maximum. */
export class FrameTooLargeError extends DmnError {
  override name = 'FrameTooLargeError'
}

/** The stream ended in the middle of a frame, or a message is not what the protocol expects. */
export class FrameMalformedError extends DmnError {
  override name = 'FrameMalformedError'
}

/** The trust policy denies this peer (operator deny, or not on the allowlist). */
export class PeerDeniedError extends DmnError {
  override name = 'PeerDeniedError'
}

/** A pinned peer presented a certificate with different keys: possible impersonation. */
export class PinnedKeyChangedError extends DmnError {
  override name = 'PinnedKeyChangedError'
}

/** A certificate names another PeerId than the authenticated remote peer. */
export class CertificateBindingError extends DmnError {
  override name = 'CertificateBindingError'
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
 * The peer sent more than its inbound budget (messages, bytes or concurrent streams). `retryAfterMs`,
 * when known, is how long until the budget admits the message again; it travels in the refusal.
 */
export class RateLimitedError extends DmnError {
  override name = 'RateLimitedError'
  readonly retryAfterMs: number | undefined

  constructor(message: string, options: { retryAfterMs?: number; cause?: unknown } = {}) {
    super(message, options)
    this.retryAfterMs = options.retryAfterMs
  }
}

/**
 * The peer never presented a node certificate (it does not serve `/dmn/cert/1.0.0`, or the exchange
 * broke off), so nothing it sends can be checked against its keys.
 */
export class PeerCertificateMissingError extends DmnError {
  override name = 'PeerCertificateMissingError'
}

/** An inbound stream did not complete within `p2p.streamTimeoutMs` (a peer that went idle, or too slow). */
export class StreamTimeoutError extends DmnError {
  override name = 'StreamTimeoutError'
}

/** No peer is known for a recipient label (Ethereum address not in the peer book, bad PeerId). */
export { UnknownRecipientError } from '../core/ports.ts'

/** The recipient's node certificate could not be obtained, so nothing can be sealed for it. */
export class RecipientUnreachableError extends DmnError {
  override name = 'RecipientUnreachableError'
}

/** Nothing with that data hash is stored here, nor served by any known peer. */
export class RecordNotFoundError extends DmnError {
  override name = 'RecordNotFoundError'
}

/** A share id that this node does not know. */
export class ShareNotFoundError extends DmnError {
  override name = 'ShareNotFoundError'
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

/** The error's stable name, for refusals and the last_error column. */
export function errorName(err: unknown): string {
  return err instanceof Error ? err.name : 'Error'
}
