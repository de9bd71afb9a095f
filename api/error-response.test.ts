import { HTTPException } from 'hono/http-exception'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import {
  ApiKeyNotFoundError,
  DependencyUnavailableError,
  InvalidRequestError,
  ResourceNotFoundError,
  StateConflictError,
  UnknownRecipientError
} from '../node/core/ports.ts'
import { InvalidApiKeyRequestError } from '../node/store/api-keys.ts'
import { errorResponse } from './error-response.ts'
import {
  FieldValidationError,
  MalformedJsonError,
  PayloadTooLargeError,
  PaymentsNotImplementedError
} from './errors.ts'

describe('errorResponse', () => {
  it.each([
    [new FieldValidationError('recipient', 'bad'), 422, { code: 'validation_failed', field: 'recipient' }],
    [new MalformedJsonError('not JSON'), 400, { code: 'malformed_json', field: 'body' }],
    [new PayloadTooLargeError(10), 413, { code: 'payload_too_large', limit_bytes: 10 }],
    [new PaymentsNotImplementedError('later'), 501, { code: 'payments_not_implemented' }],
    [new ResourceNotFoundError('share', 'Share not found'), 404, { code: 'not_found', resource: 'share' }],
    [new ApiKeyNotFoundError('ab'), 404, { code: 'not_found', resource: 'api_key' }],
    [new UnknownRecipientError('who'), 422, { code: 'unknown_recipient', field: 'recipient' }],
    [new InvalidRequestError('recipient', 'denied'), 422, { code: 'request_refused', field: 'recipient' }],
    [new InvalidApiKeyRequestError('no scopes'), 422, { code: 'validation_failed' }],
    [new StateConflictError('not failed'), 409, { code: 'conflict' }],
    [new DependencyUnavailableError('chain', 'down'), 503, { code: 'unavailable', dependency: 'chain' }],
    [new HTTPException(400), 400, { code: 'malformed_json', field: 'body' }],
    [new HTTPException(415), 415, { code: 'unsupported_media_type' }]
  ])('maps %s to %i with a stable body', (err, status, body) => {
    const answer = errorResponse(err)
    expect(answer.status).toBe(status)
    expect(answer.body).toMatchObject(body)
    expect(typeof answer.body.error).toBe('string')
  })

  it('hides unknown errors behind a 500 and logs them with their stack', () => {
    const lines: string[] = []
    const logger = pino({ level: 'error' }, { write: (line: string) => void lines.push(line) })
    const answer = errorResponse(new RangeError('index 7 out of range in /srv/dmn/node/x.ts'), logger)
    expect(answer).toEqual({ status: 500, body: { error: 'Internal server error', code: 'internal' } })
    expect(lines.join('')).toContain('RangeError')
    expect(lines.join('')).toContain('"stack"')
  })
})
