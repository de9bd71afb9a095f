import type { StoredShare } from '../core/share-ports.ts'
import type { ShareRepository } from '../store/shares.ts'
import { DUE_WINDOW_EXTRA, DUE_WINDOW_MAX_AGE_MS } from './constants.ts'

/**
 * The due shares the delivery worker last read from the queue, so that an attempt's end, which frees
 * one slot, does not cost a query of the queue per delivered share: the window is read with room to
 * spare and served from until it runs short, grows old, or is invalidated.
 *
 * A share leaves the window as soon as the worker tries to claim it, so a share retried, given back
 * or failed is never served from it again; the claim itself (`state = 'queued'` in its UPDATE) keeps
 * a share changed meanwhile by anyone else from being sent. The worker invalidates the window
 * whenever the queue may hold something it does not: a new share, a timer that came due, a peer
 * that came back; and drops a recipient's rows when it pauses that recipient.
 */
export class DueWindow {
  readonly #queue: Pick<ShareRepository, 'listDue'>
  #rows: StoredShare[] = []
  #readAtMs = Number.NEGATIVE_INFINITY
  /** The queue held no more due shares than the last read returned. */
  #exhausted = false

  constructor(queue: Pick<ShareRepository, 'listDue'>) {
    this.#queue = queue
  }

  /** Forgets the window: the next `due` reads the queue. */
  invalidate(): void {
    this.#rows = []
    this.#readAtMs = Number.NEGATIVE_INFINITY
    this.#exhausted = false
  }

  /** Drops the rows of `recipient` (their due time moved). */
  dropRecipient(recipient: string): void {
    this.#rows = this.#rows.filter((share) => share.recipient !== recipient)
  }

  /** The share is being claimed: it is never served from this window again. */
  take(shareId: string): void {
    const i = this.#rows.findIndex((share) => share.shareId === shareId)
    if (i >= 0) this.#rows.splice(i, 1)
  }

  /**
   * Due shares, oldest first, that `skip` does not rule out: at least `want` of them when the queue
   * has that many (it is read again when the window holds fewer), or all the window holds.
   */
  due(nowMs: number, want: number, skip: (share: StoredShare) => boolean): StoredShare[] {
    let rows = this.#rows.filter((share) => !skip(share))
    const old = nowMs - this.#readAtMs > DUE_WINDOW_MAX_AGE_MS
    if (old || (rows.length < want && !this.#exhausted)) {
      const limit = want + DUE_WINDOW_EXTRA
      this.#rows = this.#queue.listDue(nowMs, limit)
      this.#readAtMs = nowMs
      this.#exhausted = this.#rows.length < limit
      rows = this.#rows.filter((share) => !skip(share))
    }
    return rows
  }
}
