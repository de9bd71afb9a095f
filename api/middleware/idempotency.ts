import { createHash } from 'node:crypto'
import type { OpenAPIHono } from '@hono/zod-openapi'
import type { Context, MiddlewareHandler } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import type { StatusCode } from 'hono/utils/http-status'
import type { IdempotencyStore, IdempotentAnswer } from '../../node/core/idempotency.ts'
import type { Logger } from '../../node/log/logger.ts'
import type { ApiEnv } from '../context.ts'
import { IdempotencyKeyReusedError, InvalidIdempotencyKeyError, PayloadTooLargeError } from '../errors.ts'

/**
 * `Idempotency-Key` on every POST of an app (draft-ietf-httpapi-idempotency-key-header): the first
 * request with a key runs and its answer is kept; the same key with the same request gets that answer
 * again, with `Idempotent-Replayed: true`, and nothing runs twice; the same key with another request
 * is refused (422 `idempotency_key_reused`).
 *
 * - A request is its method, its path with the query, and its body's bytes (SHA-256 of the three):
 *   a retry sends the same bytes, and bytes leave no doubt about what "the same" means.
 * - Keys are scoped to the API key that authenticated the request, or without one to the client's
 *   address, per API: nobody reads another client's answer. Where requests need a key (the external
 *   API), one without a valid key is left to the route, which refuses it before reading its body.
 * - Kept: 2xx answers and the 4xx answers about the request itself (`validation_failed`,
 *   `malformed_json`, `body_not_object`, `unsupported_media_type`), which the same request would get
 *   again. Anything
 *   that depends on the node's state or health (401, 403, 404, 409, a 422 such as
 *   `request_refused`, 5xx, a client that went away) gives the key up, so a retry runs anew.
 * - Concurrent requests with one key: the first claims it in this process (one process serves the
 *   APIs), with no await between looking the key up and claiming it, and the others wait for its
 *   answer; when that answer is not kept, one of them runs in turn. The store is written once, when
 *   an answer is kept: a node that stops mid-request forgets the claim, and a retry runs anew.
 * - A route that creates its resource in a transaction (the share routes) keeps its answer in that
 *   same transaction (`keepAnswer`, a context variable): the resource never commits without its key,
 *   so a retry after a crash replays it instead of making it again, and there is no second commit.
 *   Other routes' answers are kept here once they are given.
 * - Keys are kept for `retentionMs` (at least 24 h), then pruned.
 */

export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key'
export const REPLAYED_HEADER = 'Idempotent-Replayed'

// Printable ASCII: a key travels in a header and is stored and compared as given.
const KEY_SYNTAX = /^[\x20-\x7e]{1,255}$/
// The headers that make the answer: its type, and where a created resource is.
const REPLAYED_HEADERS = ['content-type', 'location'] as const
const KEPT_ERROR_CODES = new Set([
  'validation_failed',
  'malformed_json',
  'body_not_object',
  'unsupported_media_type'
])
// Pruning is a DELETE over an index; once an hour is plenty for keys kept a day.
const PRUNE_INTERVAL_MS = 3_600_000

export interface IdempotencyInit {
  /** The API the keys belong to (part of their scope). */
  readonly api: 'internal' | 'external'
  readonly store: IdempotencyStore
  /** How long a key is kept; at least 24 h by configuration. */
  readonly retentionMs: number
  readonly bodyLimitBytes: number
  /**
   * Whether requests without a valid API key get idempotency (keyed by the client's address): only
   * where such requests are served (the internal API on loopback). Elsewhere they pass straight to
   * the route, which refuses them before reading a body.
   */
  readonly anonymous: boolean
  readonly logger: Logger
  /** Milliseconds clock (tests). */
  readonly now?: () => number
}

interface Running {
  readonly fingerprint: string
  /** The first request's answer, and whether it is kept. */
  readonly done: Promise<{ readonly answer: IdempotentAnswer; readonly kept: boolean }>
}

// Per store, not per app: two apps over one store (tests build a second server) share what runs.
const RUNNING = new WeakMap<IdempotencyStore, Map<string, Running>>()

const decoder = new TextDecoder()

export function idempotency(init: IdempotencyInit): MiddlewareHandler<ApiEnv> {
  const { store, retentionMs } = init
  const now = init.now ?? Date.now
  let running = RUNNING.get(store)
  if (!running) {
    running = new Map()
    RUNNING.set(store, running)
  }
  const inFlight = running
  const limit = bodyLimit({
    maxSize: init.bodyLimitBytes,
    onError: () => {
      throw new PayloadTooLargeError(init.bodyLimitBytes)
    }
  })
  let lastPrune = Number.NEGATIVE_INFINITY

  return async function idempotencyMiddleware(c, next) {
    if (c.req.method !== 'POST') return next()
    const key = c.req.header(IDEMPOTENCY_KEY_HEADER)
    if (key === undefined) return next()
    if (!init.anonymous && c.get('auth').kind === 'none') return next()
    if (!KEY_SYNTAX.test(key)) {
      throw new InvalidIdempotencyKeyError(
        `${IDEMPOTENCY_KEY_HEADER} must be 1 to 255 printable ASCII characters`
      )
    }
    const fingerprint = fingerprintOf(c, await readBody(c, limit))
    const scope = scopeOf(c, init.api)
    const id = `${scope}\n${key}`

    for (;;) {
      const first = inFlight.get(id)
      if (first) {
        if (first.fingerprint !== fingerprint) throw reused()
        const outcome = await first.done
        if (outcome.kept) return replay(c, outcome.answer)
        continue
      }
      // From the look-up to the claim's entry in inFlight: no await, so no other request can claim between.
      const nowMs = now()
      if (nowMs - lastPrune >= PRUNE_INTERVAL_MS) {
        lastPrune = nowMs
        store.prune(nowMs - retentionMs)
      }
      const kept = store.find(scope, key, nowMs - retentionMs)
      if (kept) {
        if (kept.fingerprint !== fingerprint) throw reused()
        return replay(c, kept.answer)
      }
      let settle: (outcome: { answer: IdempotentAnswer; kept: boolean }) => void = () => {}
      inFlight.set(id, { fingerprint, done: new Promise((resolve) => (settle = resolve)) })
      let outcome = { answer: INTERNAL_ERROR, kept: false }
      // What the route kept inside its own transaction (keepAnswer), if it did.
      let keptByRoute: IdempotentAnswer | undefined
      c.set('keepAnswer', (answer) => {
        store.keep(scope, key, { fingerprint, answer }, nowMs)
        keptByRoute = answer
      })
      let written = false
      try {
        await next()
        // A route that kept its answer answers 2xx only once that transaction committed; any other
        // answer means it rolled back (the share and the kept answer with it).
        if (keptByRoute && c.res.status >= 200 && c.res.status < 300) {
          outcome = { answer: keptByRoute, kept: true }
          written = true
        } else {
          const answer = await capture(c.res)
          outcome = { answer, kept: isKept(answer) }
        }
      } finally {
        inFlight.delete(id)
        try {
          if (outcome.kept && !written) store.keep(scope, key, { fingerprint, answer: outcome.answer }, nowMs)
        } catch (err) {
          // The answer stands for this client; waiting duplicates run in turn rather than replay an answer not kept.
          init.logger.error({ err }, 'cannot keep the answer of an idempotency key; the key stays free')
          outcome = { ...outcome, kept: false }
        } finally {
          settle(outcome)
        }
      }
      return
    }
  }
}

/** The body's bytes, read within the body limit; the request keeps a body the route can read again. */
async function readBody(c: Context<ApiEnv>, limit: MiddlewareHandler): Promise<Uint8Array> {
  let bytes = new Uint8Array()
  await limit(c, async () => {
    if (!c.req.raw.body) return
    bytes = new Uint8Array(await c.req.arrayBuffer())
    // The route's own body limit reads the stream again when the body came chunked.
    c.req.raw = new Request(c.req.raw, { body: bytes })
  })
  return bytes
}

function fingerprintOf(c: Context<ApiEnv>, body: Uint8Array): string {
  const url = new URL(c.req.url)
  return createHash('sha256')
    .update(`${c.req.method}\n${url.pathname}${url.search}\n`)
    .update(body)
    .digest('hex')
}

function scopeOf(c: Context<ApiEnv>, api: string): string {
  const auth = c.get('auth')
  return auth.kind === 'key' ? `${api} key ${auth.key.id}` : `${api} client ${c.get('clientAddress')}`
}

function reused(): IdempotencyKeyReusedError {
  return new IdempotencyKeyReusedError(
    `this ${IDEMPOTENCY_KEY_HEADER} was used with another request (method, path or body); use a new key`
  )
}

async function capture(res: Response): Promise<IdempotentAnswer> {
  const headers: Record<string, string> = {}
  for (const name of REPLAYED_HEADERS) {
    const value = res.headers.get(name)
    if (value !== null) headers[name] = value
  }
  return { status: res.status, headers, body: new Uint8Array(await res.clone().arrayBuffer()) }
}

function isKept(answer: IdempotentAnswer): boolean {
  if (answer.status >= 200 && answer.status < 300) return true
  if (answer.status !== 400 && answer.status !== 415 && answer.status !== 422) return false
  try {
    const body = JSON.parse(decoder.decode(answer.body)) as { code?: unknown }
    return typeof body.code === 'string' && KEPT_ERROR_CODES.has(body.code)
  } catch {
    return false
  }
}

function replay(c: Context<ApiEnv>, answer: IdempotentAnswer): Response {
  return c.newResponse(answer.body as Uint8Array<ArrayBuffer>, answer.status as StatusCode, {
    ...answer.headers,
    [REPLAYED_HEADER]: 'true'
  })
}

const INTERNAL_ERROR: IdempotentAnswer = {
  status: 500,
  headers: { 'content-type': 'application/json' },
  body: new TextEncoder().encode(JSON.stringify({ error: 'Internal server error', code: 'internal' }))
}

/**
 * Documents `Idempotency-Key` on every POST of `app`'s OpenAPI document, and `Idempotent-Replayed`
 * on their 2xx answers. Call it once every route is registered.
 */
export function documentIdempotencyKey(app: OpenAPIHono<ApiEnv>): void {
  app.openAPIRegistry.registerComponent('parameters', 'IdempotencyKey', {
    name: IDEMPOTENCY_KEY_HEADER,
    in: 'header',
    required: false,
    description:
      'Makes the POST safe to retry: the same key with the same request (method, path with query, body bytes) answers the first answer again, with `Idempotent-Replayed: true`, and runs nothing twice; the same key with another request is 422 `idempotency_key_reused`; 422 `idempotency_key_invalid` unless 1 to 255 printable ASCII characters. Keys are kept at least 24 hours, per API key (or per client address without one). Only 2xx answers and request-validation 4xx answers are kept: after any other answer the key is free again.',
    schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x20-\\x7e]{1,255}$' }
  })
  const replayed = {
    [REPLAYED_HEADER]: {
      description: 'true when this is the kept answer of an earlier request with the same Idempotency-Key',
      schema: { type: 'string', enum: ['true'] }
    }
  }
  for (const definition of app.openAPIRegistry.definitions) {
    if (definition.type !== 'route' || definition.route.method !== 'post') continue
    // The registry's own types are OpenAPI 3.0's and 3.1's at once; these are the fields touched.
    const route = definition.route as unknown as {
      parameters?: unknown[]
      responses: Record<string, { headers?: Record<string, unknown> }>
    }
    route.parameters = [...(route.parameters ?? []), { $ref: '#/components/parameters/IdempotencyKey' }]
    const responses: Record<string, { headers?: Record<string, unknown> }> = {}
    for (const [status, response] of Object.entries(route.responses)) {
      responses[status] =
        /^2\d\d$/.test(status) && !('$ref' in response)
          ? { ...response, headers: { ...(response.headers ?? {}), ...replayed } }
          : response
    }
    route.responses = responses
  }
}
