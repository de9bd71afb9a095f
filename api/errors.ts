import { DmnError } from '../node/core/errors.ts'

/**
 * Errors raised by the API layer itself. Each is answered by `errorResponse()` in
 * `error-response.ts`, the one place where errors become status codes and bodies.
 */

/** A request field is not valid; answered 422 `{error, field}` as the anchor does. */
export class FieldValidationError extends DmnError {
  override name = 'FieldValidationError'
  readonly field: string

  constructor(field: string, message: string) {
    super(message)
    this.field = field
  }
}

/**
 * An event cursor (`Last-Event-ID` or `?after=`) that is no event id: not a non-negative integer
 * (`invalid`), or an id this node's log never handed out (`unknown`, e.g. from another database).
 */
export class InvalidEventCursorError extends DmnError {
  override name = 'InvalidEventCursorError'
  readonly field: string
  readonly reason: 'invalid' | 'unknown'

  constructor(field: string, reason: 'invalid' | 'unknown', message: string) {
    super(message)
    this.field = field
    this.reason = reason
  }
}

/** The body is not JSON (or not a JSON object); answered 400 naming `body`. */
export class MalformedJsonError extends DmnError {
  override name = 'MalformedJsonError'
}

/**
 * A body the anchor's paths refuse before looking at any field, answered 422 with `field: null` as
 * the anchor does: `Invalid JSON body` (it does not parse, or there is none) and `Request body must
 * be a JSON object` (it parses to something else).
 */
export class AnchorBodyError extends DmnError {
  override name = 'AnchorBodyError'
  readonly code: 'malformed_json' | 'body_not_object'

  constructor(code: 'malformed_json' | 'body_not_object', options?: { cause?: unknown }) {
    super(code === 'malformed_json' ? 'Invalid JSON body' : 'Request body must be a JSON object', options)
    this.code = code
  }
}

/** A query parameter the route does not take; answered 422 naming it. */
export class UnknownQueryParameterError extends DmnError {
  override name = 'UnknownQueryParameterError'
  readonly parameter: string

  constructor(parameter: string) {
    super(`unknown query parameter '${parameter.slice(0, 100)}'`)
    this.parameter = parameter.slice(0, 100)
  }
}

/** The body is larger than the configured limit; answered 413 before it is read whole. */
export class PayloadTooLargeError extends DmnError {
  override name = 'PayloadTooLargeError'
  readonly limitBytes: number

  constructor(limitBytes: number) {
    super(`request body larger than ${limitBytes} bytes`)
    this.limitBytes = limitBytes
  }
}

/** Payments are validated but not implemented yet; answered 501 rather than silently ignored. */
export class PaymentsNotImplementedError extends DmnError {
  override name = 'PaymentsNotImplementedError'
}

/** An API cannot listen on its configured address (port taken, address not local, ...). */
export class ApiListenError extends DmnError {
  override name = 'ApiListenError'
}

/** An `Idempotency-Key` header that is not 1 to 255 printable ASCII characters; answered 422. */
export class InvalidIdempotencyKeyError extends DmnError {
  override name = 'InvalidIdempotencyKeyError'
}

/** An `Idempotency-Key` sent again with another request (method, path or body); answered 422. */
export class IdempotencyKeyReusedError extends DmnError {
  override name = 'IdempotencyKeyReusedError'
}
