import { DEFAULT_REPLAY_WINDOW_SECONDS } from './constants.ts'
import { ReplayedNonceError, StaleTimestampError } from './errors.ts'

/**
 * Refuses stale or replayed messages: the timestamp must lie within `windowSeconds` of now (either
 * way) and the (sender, nonce) pair must be new. Nonces live in a persistent `NonceStore` until their
 * timestamp leaves the window, so a restart does not reopen it; after that the timestamp check alone
 * refuses the message, which is why expired rows can be pruned.
 */
export interface ReplayGuardInit {
  readonly windowSeconds?: number
  /** Prune expired nonces every this many accepted checks (0: only when `prune` is called). */
  readonly pruneEvery?: number
}

/** Where the guard keeps nonces; node/store's `NonceRepository` over the `nonces` table is one. */
export interface NonceStore {
  /** Records the nonce for the sender until `expiresMs`; false when the sender already used it. */
  add(sender: string, nonce: string, expiresMs: number): boolean
  /** Whether the sender used the nonce before (a record not yet pruned). */
  has(sender: string, nonce: string): boolean
  /** Forgets nonces that expired before `nowMs`; returns how many. */
  pruneExpired(nowMs: number): number
}

const NONCE = /^[0-9a-f]{32}$/

export class ReplayGuard {
  readonly windowMs: number
  readonly #nonces: NonceStore
  readonly #pruneEvery: number
  #sincePrune = 0

  constructor(nonces: NonceStore, opts: ReplayGuardInit = {}) {
    const windowSeconds = opts.windowSeconds ?? DEFAULT_REPLAY_WINDOW_SECONDS
    if (!Number.isFinite(windowSeconds) || windowSeconds <= 0)
      throw new RangeError('windowSeconds must be > 0')
    this.windowMs = windowSeconds * 1000
    this.#pruneEvery = opts.pruneEvery ?? 1000
    this.#nonces = nonces
  }

  /**
   * Accepts a message once: throws StaleTimestampError outside the window, ReplayedNonceError for a
   * nonce this sender already used; otherwise records the nonce (committed at once, or with the
   * caller's open transaction).
   */
  check(sender: string, nonce: string, timestampMs: number, nowMs: number = Date.now()): void {
    this.#assertInWindow(nonce, timestampMs, nowMs)
    this.spend(sender, nonce, timestampMs, nowMs)
  }

  /**
   * The read-only half of `check`, for a message whose nonce is spent later, with what it stores
   * (`spend`): throws StaleTimestampError outside the window, ReplayedNonceError for a nonce this
   * sender already spent. Records nothing, so it cannot tell two copies in flight at once apart:
   * `spend` does.
   */
  assertFresh(sender: string, nonce: string, timestampMs: number, nowMs: number = Date.now()): void {
    this.#assertInWindow(nonce, timestampMs, nowMs)
    if (this.#nonces.has(sender, nonce)) throw new ReplayedNonceError('nonce already used by this sender')
  }

  /**
   * Records the nonce of a message whose timestamp was found fresh (committed at once, or with the
   * caller's open transaction); throws ReplayedNonceError when this sender already spent it.
   */
  spend(sender: string, nonce: string, timestampMs: number, nowMs: number = Date.now()): void {
    if (!NONCE.test(nonce)) throw new RangeError('nonce must be 32 lowercase hex')
    // Kept until the timestamp itself leaves the window: from then on the timestamp check refuses it.
    if (!this.#nonces.add(sender, nonce, timestampMs + this.windowMs))
      throw new ReplayedNonceError('nonce already used by this sender')
    if (this.#pruneEvery > 0 && ++this.#sincePrune >= this.#pruneEvery) {
      this.#sincePrune = 0
      this.prune(nowMs)
    }
  }

  #assertInWindow(nonce: string, timestampMs: number, nowMs: number): void {
    if (!NONCE.test(nonce)) throw new RangeError('nonce must be 32 lowercase hex')
    if (!Number.isFinite(timestampMs) || Math.abs(nowMs - timestampMs) > this.windowMs) {
      throw new StaleTimestampError(
        `message timestamp is ${Math.round((nowMs - timestampMs) / 1000)} s from now; the window is ${this.windowMs / 1000} s`
      )
    }
  }

  /** Deletes nonces whose timestamps have left the window; returns how many. */
  prune(nowMs: number = Date.now()): number {
    return this.#nonces.pruneExpired(nowMs)
  }
}
