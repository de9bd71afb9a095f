import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { HTTPException } from 'hono/http-exception'
import type { Logger } from '../node/log/logger.ts'

/**
 * The one place where errors become HTTP answers. Known errors are matched by their stable `name`
 * (never by message text) and keep a stable body; anything else is a 500 whose detail is logged
 * with its stack and never sent.
 */

export interface ErrorBody {
  readonly error: string
  readonly code: string
  readonly field?: string | null
  readonly [extra: string]: unknown
}

export interface ErrorAnswer {
  readonly status: ContentfulStatusCode
  readonly body: ErrorBody
}

type Mapper = (err: Error & Record<string, unknown>) => ErrorAnswer

const BY_NAME: Readonly<Record<string, Mapper>> = {
  FieldValidationError: (e) => ({
    status: 422,
    body: { error: e.message, code: 'validation_failed', field: String(e['field']) }
  }),
  InvalidEventCursorError: (e) => ({
    status: 422,
    body: {
      error: e.message,
      code: e['reason'] === 'unknown' ? 'unknown_event_id' : 'invalid_event_id',
      field: String(e['field'])
    }
  }),
  MalformedJsonError: (e) => ({
    status: 400,
    body: { error: e.message, code: 'malformed_json', field: 'body' }
  }),
  AnchorBodyError: (e) => ({
    status: 422,
    body: { error: e.message, code: String(e['code']), field: null }
  }),
  UnknownQueryParameterError: (e) => ({
    status: 422,
    body: { error: e.message, code: 'unknown_query_parameter', field: String(e['parameter']) }
  }),
  PayloadTooLargeError: (e) => ({
    status: 413,
    body: { error: 'Payload too large', code: 'payload_too_large', limit_bytes: e['limitBytes'] }
  }),
  PaymentsNotImplementedError: (e) => ({
    status: 501,
    body: { error: e.message, code: 'payments_not_implemented' }
  }),
  ResourceNotFoundError: notFound,
  ApiKeyNotFoundError: notFound,
  WebhookNotFoundError: notFound,
  WebhookUrlRefusedError: (e) => ({
    status: 422,
    body: { error: e.message, code: 'webhook_url_refused', field: 'url' }
  }),
  InvalidWebhookRequestError: (e) => ({
    status: 422,
    body: { error: e.message, code: 'validation_failed', field: String(e['field']) }
  }),
  UnknownRecipientError: (e) => ({
    status: 422,
    body: { error: e.message, code: 'unknown_recipient', field: 'recipient' }
  }),
  InvalidRequestError: (e) => ({
    status: 422,
    body: { error: e.message, code: 'request_refused', field: String(e['field']) }
  }),
  InvalidApiKeyRequestError: (e) => ({
    status: 422,
    body: { error: e.message, code: 'validation_failed' }
  }),
  InvalidIdempotencyKeyError: (e) => ({
    status: 422,
    body: { error: e.message, code: 'idempotency_key_invalid', field: 'Idempotency-Key' }
  }),
  IdempotencyKeyReusedError: (e) => ({
    status: 422,
    body: { error: e.message, code: 'idempotency_key_reused', field: 'Idempotency-Key' }
  }),
  StateConflictError: (e) => ({ status: 409, body: { error: e.message, code: 'conflict' } }),
  DependencyUnavailableError: (e) => ({
    status: 503,
    body: { error: e.message, code: 'unavailable', dependency: e['dependency'] }
  }),
  AbortedError: () => ({ status: 503, body: { error: 'Request aborted', code: 'aborted' } })
}

function notFound(e: Error & Record<string, unknown>): ErrorAnswer {
  return { status: 404, body: { error: e.message, code: 'not_found', resource: e['resource'] } }
}

/** The answer for `err`; logs unexpected errors (with stack) on `logger`. */
export function errorResponse(err: unknown, logger?: Logger): ErrorAnswer {
  if (err instanceof HTTPException) return fromHttpException(err)
  if (err instanceof Error) {
    const mapper = BY_NAME[err.name]
    if (mapper) return mapper(err as Error & Record<string, unknown>)
  }
  logger?.error({ err }, 'unexpected error while answering a request')
  return { status: 500, body: { error: 'Internal server error', code: 'internal' } }
}

function fromHttpException(err: HTTPException): ErrorAnswer {
  switch (err.status) {
    case 400:
      // Hono's JSON validator raises a bare 400 when the body does not parse.
      return {
        status: 400,
        body: { error: 'request body is not valid JSON', code: 'malformed_json', field: 'body' }
      }
    case 413:
      return { status: 413, body: { error: 'Payload too large', code: 'payload_too_large' } }
    case 415:
      return {
        status: 415,
        body: {
          error: 'Content-Type must be application/json',
          code: 'unsupported_media_type',
          field: 'body'
        }
      }
    default:
      return {
        status: err.status as ContentfulStatusCode,
        body: { error: err.status >= 500 ? 'Internal server error' : 'Request refused', code: 'http_error' }
      }
  }
}
