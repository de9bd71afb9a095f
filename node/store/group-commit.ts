import type { Db } from './database.ts'

/**
 * Group commit: writes that arrive close together (concurrent HTTP requests, a loop of queued
 * shares) run in one SQLite transaction, so they share one commit and its fsync instead of paying
 * one each. Each write runs in a savepoint of its own (better-sqlite3's nested `db.transaction`):
 * one that throws rolls back alone and its caller gets the error, the others commit. Every caller
 * is answered only once the group's commit returned, so what a caller reports as written is as
 * durable as a transaction of its own would have made it.
 *
 * A group is flushed on the next turn of the event loop (`setImmediate`), so every write queued in
 * the current turn joins it; a group holds at most `maxSize` writes and `maxBytes` of the sizes its
 * callers declare (a write larger than that goes alone), and what is left waits for the next turn,
 * so a long queue neither makes one huge transaction nor keeps the first callers waiting for the
 * last ones.
 */

/** Most writes in one group: bounds the time from a write's turn to its commit. */
export const GROUP_COMMIT_MAX_SIZE = 256
/**
 * Most declared bytes in one group (16 shares of the largest size, 1 MiB): a group of large writes
 * is written whole to the WAL before its commit, so this bounds both that and its callers' wait.
 */
export const GROUP_COMMIT_MAX_BYTES = 16 * 1024 * 1024

export interface GroupCommitInit {
  /** Most writes in one transaction; GROUP_COMMIT_MAX_SIZE unless given. */
  readonly maxSize?: number
  /** Most declared bytes in one transaction; GROUP_COMMIT_MAX_BYTES unless given. */
  readonly maxBytes?: number
}

/** What a group commit has done so far (tests and benchmarks read it). */
export interface GroupCommitStats {
  /** Transactions committed. */
  readonly commits: number
  /** Writes committed in them. */
  readonly committed: number
  /** Writes that threw and were rolled back alone. */
  readonly rolledBack: number
}

export interface GroupCommit {
  /**
   * Runs `work` (synchronous, like any better-sqlite3 transaction) in the next group's transaction
   * and resolves with its result once that transaction committed; rejects with what `work` threw
   * (its writes rolled back, the group's others kept) or with the commit's error (nothing kept).
   * `bytes`: about how much `work` writes, counted against the group's `maxBytes`.
   */
  run<T>(work: () => T, bytes?: number): Promise<T>
  stats(): GroupCommitStats
}

interface Pending {
  readonly work: () => unknown
  readonly bytes: number
  readonly resolve: (value: unknown) => void
  readonly reject: (err: unknown) => void
}

type Outcome =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: unknown }

/** A group commit over `db`'s connection. */
export function createGroupCommit(db: Db, init: GroupCommitInit = {}): GroupCommit {
  const maxSize = init.maxSize ?? GROUP_COMMIT_MAX_SIZE
  const maxBytes = init.maxBytes ?? GROUP_COMMIT_MAX_BYTES
  if (!Number.isInteger(maxSize) || maxSize < 1) throw new RangeError('maxSize must be a positive integer')
  if (!(maxBytes > 0)) throw new RangeError('maxBytes must be positive')
  const queue: Pending[] = []
  let scheduled = false
  let commits = 0
  let committed = 0
  let rolledBack = 0

  const group = db.transaction((items: readonly Pending[]): Outcome[] =>
    items.map((item): Outcome => {
      try {
        return { ok: true, value: db.transaction(item.work)() }
      } catch (error) {
        return { ok: false, error }
      }
    })
  )

  const flush = () => {
    scheduled = false
    let count = 0
    let bytes = 0
    while (count < queue.length && count < maxSize) {
      const next = (queue[count] as Pending).bytes
      if (count > 0 && bytes + next > maxBytes) break
      bytes += next
      count++
    }
    const items = queue.splice(0, count)
    if (queue.length > 0) schedule()
    let outcomes: Outcome[]
    try {
      outcomes = group(items)
    } catch (err) {
      // The commit itself failed (disk full, I/O error): better-sqlite3 rolled the whole group back.
      for (const item of items) item.reject(err)
      return
    }
    commits++
    outcomes.forEach((outcome, i) => {
      const item = items[i] as Pending
      if (outcome.ok) {
        committed++
        item.resolve(outcome.value)
      } else {
        rolledBack++
        item.reject(outcome.error)
      }
    })
  }

  const schedule = () => {
    if (scheduled) return
    scheduled = true
    setImmediate(flush)
  }

  return {
    run<T>(work: () => T, bytes = 0): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ work, bytes, resolve: resolve as (value: unknown) => void, reject })
        schedule()
      })
    },
    stats: () => ({ commits, committed, rolledBack })
  }
}
