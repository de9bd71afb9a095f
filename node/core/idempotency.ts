/**
 * The port behind `Idempotency-Key` (api/middleware/idempotency.ts): the durable record of which
 * keys a client used, for which request, and what the node answered. Synchronous on purpose: a claim
 * must be decided with no await between looking and inserting, so two requests with one key cannot
 * both run.
 */

/** An answer as it is replayed: status, the headers worth replaying, and the body bytes. */
export interface IdempotentAnswer {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: Uint8Array
}

/** What holds a key already: a request still running (`pending`) or finished with its answer. */
export type IdempotencyClaim =
  | { readonly state: 'claimed' }
  | { readonly state: 'pending'; readonly fingerprint: string }
  | { readonly state: 'done'; readonly fingerprint: string; readonly answer: IdempotentAnswer }

export interface IdempotencyStore {
  /**
   * Claims `key` within `scope` for a request with `fingerprint` at `nowMs` (a pending row), unless a
   * row younger than `notBeforeMs` holds it: then that row. An older row is replaced.
   */
  claim(scope: string, key: string, fingerprint: string, nowMs: number, notBeforeMs: number): IdempotencyClaim
  /** Records the answer of a claimed key. */
  complete(scope: string, key: string, answer: IdempotentAnswer): void
  /** Gives a claimed key up (its answer is not kept: a retry runs again). */
  release(scope: string, key: string): void
  /** Deletes keys created before `beforeMs`; returns how many. */
  prune(beforeMs: number): number
}
