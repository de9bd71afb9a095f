/**
 * The port behind `Idempotency-Key` (api/middleware/idempotency.ts): the durable record of the
 * answers kept for the keys clients used, and for which request. Synchronous on purpose: the
 * middleware decides whether a request runs with no await between looking a key up and claiming it
 * in its process.
 */

/** An answer as it is replayed: status, the headers worth replaying, and the body bytes. */
export interface IdempotentAnswer {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: Uint8Array
}

/** A kept answer and the fingerprint of the request it answered. */
export interface KeptAnswer {
  readonly fingerprint: string
  readonly answer: IdempotentAnswer
}

export interface IdempotencyStore {
  /** The answer kept for `key` within `scope`, unless none was or it was kept before `notBeforeMs`. */
  find(scope: string, key: string, notBeforeMs: number): KeptAnswer | undefined
  /** Keeps the answer of the request with `fingerprint` for `key` within `scope`, made at `nowMs`. */
  keep(scope: string, key: string, kept: KeptAnswer, nowMs: number): void
  /** Deletes answers kept before `beforeMs`; returns how many. */
  prune(beforeMs: number): number
}
