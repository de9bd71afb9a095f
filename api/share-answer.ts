import type { Context, TypedResponse } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import type { JSONParsed } from 'hono/utils/types'
import type { IdempotentAnswer } from '../node/core/idempotency.ts'
import type { ShareService, ShareView } from '../node/core/ports.ts'
import type { ApiEnv } from './context.ts'
import { acceptShare } from './operations.ts'
import type { ShareRequestBody } from './schemas/share.ts'

/**
 * The answer of a share-creating route (`POST /share_data`, `POST /v1/shares`) as bytes. Under an
 * `Idempotency-Key` the answer is made and kept inside the share's own transaction (the
 * middleware's `keepAnswer`), so the share and its kept answer commit together: a crash between the
 * two cannot leave a share whose retry would make a second one. The route then answers those very
 * bytes, so a replay is byte for byte the first answer.
 */

const encoder = new TextEncoder()

/** An answer with a JSON body: `value` is what its bytes were made from (they are what is sent). */
export interface JsonAnswer<T, S extends ContentfulStatusCode> extends IdempotentAnswer {
  readonly status: S
  readonly value: T
}

/** A JSON answer: the body as `c.json` writes it (JSON.stringify), its type, and `headers`. */
export function jsonAnswer<T, S extends ContentfulStatusCode>(
  status: S,
  value: T,
  headers: Readonly<Record<string, string>> = {}
): JsonAnswer<T, S> {
  return {
    status,
    headers: { 'content-type': 'application/json', ...headers },
    body: encoder.encode(JSON.stringify(value)),
    value
  }
}

/**
 * Accepts the validated share `body` and makes its answer with `answerOf`: inside the share's
 * transaction when the request has a fresh `Idempotency-Key` (and keeps it there), after the commit
 * otherwise.
 */
export async function shareAnswer<T, S extends ContentfulStatusCode>(
  c: Context<ApiEnv>,
  shares: ShareService,
  body: ShareRequestBody,
  answerOf: (view: ShareView) => JsonAnswer<T, S>
): Promise<JsonAnswer<T, S>> {
  const keep = c.get('keepAnswer')
  let answer: JsonAnswer<T, S> | undefined
  const view = await acceptShare(shares, body, {
    signal: c.req.raw.signal,
    ...(keep
      ? {
          alsoInTransaction: (share: ShareView) => {
            answer = answerOf(share)
            keep(answer)
          }
        }
      : {})
  })
  return answer ?? answerOf(view)
}

/**
 * The response of `answer`: its status, headers and the very bytes that were kept, typed as the
 * route's `c.json` would be.
 */
export function answerResponse<T, S extends ContentfulStatusCode>(
  c: Context<ApiEnv>,
  answer: JsonAnswer<T, S>
): Response & TypedResponse<JSONParsed<T>, S, 'json'> {
  const response = c.newResponse(answer.body as Uint8Array<ArrayBuffer>, answer.status, {
    ...answer.headers
  })
  // The bytes are JSON.stringify(answer.value), exactly what c.json would have sent.
  return response as Response & TypedResponse<JSONParsed<T>, S, 'json'>
}
