/**
 * Flow control on the sending side. Every answer of the share protocol (receipt or refusal) carries
 * the recipient's per-peer inbound limits (`limits`: messages and bytes per second, concurrent
 * streams; limits.ts); the delivery worker paces each recipient to a margin below them, so it seals
 * no envelope the recipient would refuse for rate. Until a recipient announced its limits, nothing
 * is paced: its first answer says them, and a RateLimitedError refusal still pauses the recipient
 * (delivery-worker.ts) until its retry-after.
 */

/** A recipient's per-peer inbound limits, as it announces them. */
export interface AnnouncedLimits {
  readonly messagesPerSecond: number
  readonly bytesPerSecond: number
  readonly concurrentStreams: number
}

export interface PeerPacingInit {
  /**
   * The share of the announced rates the sender uses (PACING_SHARE). The margin absorbs arrivals
   * bunched closer than they were sent: with a bucket of one second's worth on the recipient, a
   * 10 % margin covers 100 ms of jitter.
   */
  readonly share?: number
  /** Injected for unit tests; Date.now by default. */
  readonly now?: () => number
}

/** The share of a recipient's announced rates a sender paces to. */
export const PACING_SHARE = 0.9
/** Peers whose limits are remembered at the most (oldest forgotten first). */
const MAX_PACED_PEERS = 10_000

interface Pace {
  limits: AnnouncedLimits
  messages: number
  bytes: number
  at: number
  inFlight: number
}

/** The announced limits in an answer frame, or undefined when absent or not positive finite numbers. */
export function announcedLimitsOf(value: unknown): AnnouncedLimits | undefined {
  if (value === null || typeof value !== 'object') return undefined
  const v = value as Record<string, unknown>
  const ok = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x > 0
  const { messagesPerSecond, bytesPerSecond, concurrentStreams } = v
  if (!ok(messagesPerSecond) || !ok(bytesPerSecond) || !ok(concurrentStreams)) return undefined
  return { messagesPerSecond, bytesPerSecond, concurrentStreams: Math.floor(concurrentStreams) }
}

export class PeerPacing {
  readonly #share: number
  readonly #now: () => number
  readonly #peers = new Map<string, Pace>()

  constructor(init: PeerPacingInit = {}) {
    this.#share = init.share ?? PACING_SHARE
    this.#now = init.now ?? Date.now
  }

  /** Records what `peerId` announced; a change of limits starts its budget afresh at the new size. */
  learn(peerId: string, limits: AnnouncedLimits): void {
    const pace = this.#peers.get(peerId)
    if (pace) {
      const same =
        pace.limits.messagesPerSecond === limits.messagesPerSecond &&
        pace.limits.bytesPerSecond === limits.bytesPerSecond &&
        pace.limits.concurrentStreams === limits.concurrentStreams
      if (!same) {
        pace.limits = limits
        this.#refill(pace)
        pace.messages = Math.min(pace.messages, this.#messageCapacity(limits))
        pace.bytes = Math.min(pace.bytes, this.#byteCapacity(limits))
      }
      return
    }
    if (this.#peers.size >= MAX_PACED_PEERS) this.#forgetOne()
    this.#peers.set(peerId, {
      limits,
      // Starts empty-handed of what is in flight to it: its first answer came while others were sent.
      messages: this.#messageCapacity(limits) / 2,
      bytes: this.#byteCapacity(limits) / 2,
      at: this.#now(),
      inFlight: 0
    })
  }

  /** The limits `peerId` announced, if it did. */
  limitsOf(peerId: string): AnnouncedLimits | undefined {
    return this.#peers.get(peerId)?.limits
  }

  /**
   * Whether one more exchange may start with `peerId` now: 0 when it may (one message taken, one
   * stream counted; `release` gives the stream back), otherwise how many ms until a message is due,
   * or Infinity when all the streams it admits are in use (one ending frees one).
   */
  acquire(peerId: string): number {
    const pace = this.#peers.get(peerId)
    if (!pace) return 0
    this.#refill(pace)
    if (pace.inFlight >= this.#streamCap(pace.limits)) return Number.POSITIVE_INFINITY
    if (pace.messages < 1) return this.#msUntil(1 - pace.messages, pace.limits.messagesPerSecond)
    pace.messages -= 1
    pace.inFlight += 1
    return 0
  }

  /**
   * Charges an envelope of `bytes` to `peerId` before it is sealed: 0 when it fits now, otherwise
   * the ms until it will (nothing charged then). An envelope larger than the budget fits a full one.
   */
  chargeBytes(peerId: string, bytes: number): number {
    const pace = this.#peers.get(peerId)
    if (!pace) return 0
    this.#refill(pace)
    const capacity = this.#byteCapacity(pace.limits)
    const needed = Math.min(bytes, capacity)
    if (pace.bytes < needed) return this.#msUntil(needed - pace.bytes, pace.limits.bytesPerSecond)
    pace.bytes -= bytes
    return 0
  }

  /** An exchange started by `acquire` ended. */
  release(peerId: string): void {
    const pace = this.#peers.get(peerId)
    if (pace && pace.inFlight > 0) pace.inFlight -= 1
  }

  // A bucket of one second's worth, as the recipient's (limits.ts), at `share` of its size.
  #messageCapacity(limits: AnnouncedLimits): number {
    return Math.max(1, limits.messagesPerSecond * this.#share)
  }

  #byteCapacity(limits: AnnouncedLimits): number {
    return limits.bytesPerSecond * this.#share
  }

  // The recipient frees a share stream's slot before it writes the answer (inbound-stream.ts), so a
  // stream opened the moment an answer is read finds it free. One slot is left for the exchanges
  // of the other protocols this node may have open with the peer meanwhile (certificates,
  // evidence, fetch), which count against the same per-peer limit.
  #streamCap(limits: AnnouncedLimits): number {
    return Math.max(1, limits.concurrentStreams - 1)
  }

  #refill(pace: Pace): void {
    const now = this.#now()
    const elapsed = Math.max(0, now - pace.at) / 1000
    pace.at = now
    pace.messages = Math.min(
      this.#messageCapacity(pace.limits),
      pace.messages + elapsed * pace.limits.messagesPerSecond * this.#share
    )
    pace.bytes = Math.min(
      this.#byteCapacity(pace.limits),
      pace.bytes + elapsed * pace.limits.bytesPerSecond * this.#share
    )
  }

  #msUntil(missing: number, perSecond: number): number {
    return Math.max(1, Math.ceil((missing / (perSecond * this.#share)) * 1000))
  }

  #forgetOne(): void {
    for (const [peerId, pace] of this.#peers) {
      if (pace.inFlight === 0) {
        this.#peers.delete(peerId)
        return
      }
    }
  }
}
