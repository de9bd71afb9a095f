import { RateLimitedError } from './errors.ts'
import type { AnnouncedLimits } from './peer-pacing.ts'

/**
 * Inbound limits per peer: messages per second, bytes per second (token buckets that refill
 * continuously) and concurrent streams. A peer over budget is refused; other peers are unaffected.
 * Memory is bounded: idle peers' buckets are dropped once full again.
 */

export interface InboundLimitsInit {
  readonly messagesPerSecond: number
  readonly bytesPerSecond: number
  readonly concurrentStreams: number
  /** Injected for unit tests; Date.now by default. */
  readonly now?: () => number
}

interface PeerBudget {
  messages: number
  bytes: number
  streams: number
  at: number
}

const MAX_TRACKED_PEERS = 10_000

export class InboundLimits {
  readonly #init: InboundLimitsInit
  readonly #now: () => number
  readonly #peers = new Map<string, PeerBudget>()

  constructor(init: InboundLimitsInit) {
    this.#init = init
    this.#now = init.now ?? Date.now
  }

  /** What this node admits per peer, as its answers announce it (peer-pacing.ts). */
  get announced(): AnnouncedLimits {
    return {
      messagesPerSecond: this.#init.messagesPerSecond,
      bytesPerSecond: this.#init.bytesPerSecond,
      concurrentStreams: this.#init.concurrentStreams
    }
  }

  /** A burst of one second's worth, and at least one message, so a rate below 1/s still admits one. */
  get #messageCapacity(): number {
    return Math.max(1, this.#init.messagesPerSecond)
  }

  #budget(peer: string): PeerBudget {
    const now = this.#now()
    let budget = this.#peers.get(peer)
    if (!budget) {
      if (this.#peers.size >= MAX_TRACKED_PEERS) this.#evictIdle()
      budget = {
        messages: this.#messageCapacity,
        bytes: this.#init.bytesPerSecond,
        streams: 0,
        at: now
      }
      this.#peers.set(peer, budget)
      return budget
    }
    const elapsed = Math.max(0, now - budget.at) / 1000
    budget.messages = Math.min(
      this.#messageCapacity,
      budget.messages + elapsed * this.#init.messagesPerSecond
    )
    budget.bytes = Math.min(this.#init.bytesPerSecond, budget.bytes + elapsed * this.#init.bytesPerSecond)
    budget.at = now
    return budget
  }

  #evictIdle(): void {
    for (const [peer, budget] of this.#peers) if (budget.streams === 0) this.#peers.delete(peer)
  }

  /**
   * Opens an inbound stream for `peer`, counting one message. Returns a release function; throws
   * RateLimitedError when the peer has too many streams open or no message budget left.
   */
  openStream(peer: string): () => void {
    const budget = this.#budget(peer)
    // No hint for streams: a slot frees when one of the peer's own exchanges ends, which we cannot foresee.
    if (budget.streams >= this.#init.concurrentStreams) {
      throw new RateLimitedError(`more than ${this.#init.concurrentStreams} concurrent streams`, {
        limits: this.announced
      })
    }
    if (budget.messages < 1) {
      throw new RateLimitedError(`more than ${this.#init.messagesPerSecond} messages per second`, {
        retryAfterMs: refillMs(1 - budget.messages, this.#init.messagesPerSecond),
        limits: this.announced
      })
    }
    budget.messages -= 1
    budget.streams += 1
    let released = false
    return () => {
      if (released) return
      released = true
      budget.streams -= 1
    }
  }

  /**
   * Charges `bytes` to the peer (checked once a frame's length is known, before its body is read).
   * A frame larger than one second of budget is allowed only when the bucket is full, so a single
   * maximum-size share always gets through a quiet peer.
   */
  chargeBytes(peer: string, bytes: number): void {
    const budget = this.#budget(peer)
    const full = budget.bytes >= this.#init.bytesPerSecond
    if (bytes > budget.bytes && !full) {
      // Admitted once the bucket holds the frame, or is full for a frame larger than the bucket.
      const needed = Math.min(bytes, this.#init.bytesPerSecond) - budget.bytes
      throw new RateLimitedError(`more than ${this.#init.bytesPerSecond} bytes per second`, {
        retryAfterMs: refillMs(needed, this.#init.bytesPerSecond),
        limits: this.announced
      })
    }
    budget.bytes -= bytes
  }
}

/** Milliseconds until a bucket refilling at `perSecond` has gained `missing` more. */
function refillMs(missing: number, perSecond: number): number {
  return Math.ceil((Math.max(0, missing) / perSecond) * 1000)
}
