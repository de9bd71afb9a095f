import { DmnError } from '../core/errors.ts'
import type { AnnouncedLimits } from './peer-pacing.ts'

export {
  IdentityRecordMismatchError,
  InsufficientTrustError,
  InvalidShareRequestError,
  PeerDeniedError,
  ReceiptMismatchError,
  RecordNotFoundError,
  RemoteRefusalError,
  SenderMismatchError
} from '../core/share-errors.ts'

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

/** A pinned peer presented a certificate with different keys: possible impersonation. */
export class PinnedKeyChangedError extends DmnError {
  override name = 'PinnedKeyChangedError'
}

/** A certificate names another PeerId than the authenticated remote peer. */
export class CertificateBindingError extends DmnError {
  override name = 'CertificateBindingError'
}

/**
 * The peer sent more than its inbound budget (messages, bytes or concurrent streams). `retryAfterMs`,
 * when known, is how long until the budget admits the message again; it travels in the refusal.
 */
export class RateLimitedError extends DmnError {
  override name = 'RateLimitedError'
  readonly retryAfterMs: number | undefined
  /** The per-peer limits that refused, announced to the peer so it can pace to them. */
  readonly limits: AnnouncedLimits | undefined

  constructor(
    message: string,
    options: { retryAfterMs?: number; limits?: AnnouncedLimits; cause?: unknown } = {}
  ) {
    super(message, options)
    this.retryAfterMs = options.retryAfterMs
    this.limits = options.limits
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

/** A recipient label that is neither a PeerId nor a 0x Ethereum address. */
export { UnknownRecipientError } from '../core/ports.ts'

/** The recipient's node certificate could not be obtained, so nothing can be sealed for it. */
export class RecipientUnreachableError extends DmnError {
  override name = 'RecipientUnreachableError'
}

/** A share id that this node does not know. */
export class ShareNotFoundError extends DmnError {
  override name = 'ShareNotFoundError'
}

/**
 * An evidence request for a share that this node did not send to the asking peer: "not found" and
 * "not yours" are the same refusal, so a peer learns nothing of other peers' shares.
 */
export class NotShareRecipientError extends DmnError {
  override name = 'NotShareRecipientError'
}

/** The share was sent to the asking peer, but its record is not confirmed on chain yet: ask again later. */
export class EvidenceNotReadyError extends DmnError {
  override name = 'EvidenceNotReadyError'
}

/** The peer does not speak `/dmn/share-batch/1.0.0`: its shares go per-share. */
export class BatchUnsupportedError extends DmnError {
  override name = 'BatchUnsupportedError'
}

/** The error's stable name, for refusals and the last_error column. */
export function errorName(err: unknown): string {
  return err instanceof Error ? err.name : 'Error'
}
