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

/** The body is not JSON (or not a JSON object); answered 400 naming `body`. */
export class MalformedJsonError extends DmnError {
  override name = 'MalformedJsonError'
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

/** An `Idempotency-Key` whose first request is still running elsewhere; answered 409. */
export class IdempotencyKeyInProgressError extends DmnError {
  override name = 'IdempotencyKeyInProgressError'
}

/** A query parameter the route does not take; answered 422 naming it. */
export class UnknownQueryParameterError extends DmnError {
  override name = 'UnknownQueryParameterError'
  readonly parameter: string

  constructor(parameter: string) {
    super(`unknown query parameter ${parameter}`)
    this.parameter = parameter
  }
}
