/**
 * Token buckets, one per client key, in a map bounded by `maxKeys`. When full, the least recently
 * used bucket is dropped: a dropped client starts again with a full bucket, which is the lenient
 * direction, and memory stays bounded however many distinct clients appear.
 */

export interface TokenBucketInit {
  /** Tokens added per second. */
  readonly perSecond: number
  /** Bucket size: how many requests may come at once. */
  readonly burst: number
  /** Most buckets kept at once. */
  readonly maxKeys?: number
  /** Milliseconds clock; tests inject one. */
  readonly now?: () => number
}

export type TakeResult =
  | { readonly allowed: true; readonly remaining: number }
  | { readonly allowed: false; readonly retryAfterSeconds: number }

interface Bucket {
  tokens: number
  at: number
}

export class TokenBucketLimiter {
  readonly perSecond: number
  readonly burst: number
  readonly maxKeys: number
  readonly #now: () => number
  readonly #buckets = new Map<string, Bucket>()
  /** The key taken from last, already last in the map's order. */
  #newest: string | undefined

  constructor(init: TokenBucketInit) {
    if (!(init.perSecond > 0)) throw new RangeError('perSecond must be > 0')
    if (!(Number.isInteger(init.burst) && init.burst >= 1))
      throw new RangeError('burst must be an integer >= 1')
    this.perSecond = init.perSecond
    this.burst = init.burst
    this.maxKeys = init.maxKeys ?? 10_000
    this.#now = init.now ?? (() => performance.now())
  }

  /** How many buckets are held now. */
  get size(): number {
    return this.#buckets.size
  }

  /** Takes one token from `key`'s bucket if it has one. */
  take(key: string): TakeResult {
    const now = this.#now()
    let bucket = this.#buckets.get(key)
    if (bucket) {
      // Re-inserting keeps Map order = least recently used first (a client polling alone is last already).
      if (key !== this.#newest) {
        this.#buckets.delete(key)
        this.#buckets.set(key, bucket)
      }
      bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond)
      bucket.at = now
    } else {
      bucket = { tokens: this.burst, at: now }
      if (this.#buckets.size >= this.maxKeys) {
        const oldest = this.#buckets.keys().next().value
        if (oldest !== undefined) this.#buckets.delete(oldest)
      }
      this.#buckets.set(key, bucket)
    }
    this.#newest = key
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1
      return { allowed: true, remaining: Math.floor(bucket.tokens) }
    }
    const seconds = (1 - bucket.tokens) / this.perSecond
    return { allowed: false, retryAfterSeconds: Math.ceil(seconds * 1000) / 1000 }
  }
}
