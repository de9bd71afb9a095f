import { type Db, relaxedCommitOf } from './database.ts'

/**
 * Group commit: writes that arrive close together (concurrent HTTP requests, a loop of queued
 * shares, shares received on several streams at once) run in one SQLite transaction, so they share
 * one commit and its fsync instead of paying one each. Each write runs in a savepoint of its own
 * (better-sqlite3's nested `db.transaction`): one that throws rolls back alone and its caller gets
 * the error, the others commit. Every caller is answered only once the group's commit returned, so
 * what a caller reports as written (to an HTTP client, to a peer) is as durable as a transaction of
 * its own would have made it; a commit that fails rejects every write of its group.
 *
 * A group is flushed on the next turn of the event loop (`setImmediate`), so every write queued in
 * the current turn joins it; a group holds at most `maxSize` writes and `maxBytes` of the sizes its
 * callers declare (a write larger than that goes alone), and what is left waits for the next turn,
 * so a long queue neither makes one huge transaction nor keeps the first callers waiting for the
 * last ones. The writes of a group run one after the other, synchronously: what can be done before
 * them (signature checks, decryption) belongs outside, so the group stays short.
 *
 * Writes that come one by one (shares whose decryption ends at different moments) would each make a
 * group of one. A caller on its way to a write says so (`arriving`); while such callers have not
 * queued their writes yet, a group waits for them, at most `maxWaitMs` after its first write (as a
 * database's commit delay waits for sibling transactions).
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
  /** How long a group waits for writes announced as arriving, from its first write (0: never). */
  readonly maxWaitMs?: number
}

/** How one write joins its group. */
export interface GroupWriteOptions {
  /** About how much the write writes, counted against the group's `maxBytes`. */
  readonly bytes?: number
  /**
   * false: this write's commit may wait for the next durable one (see `relaxedCommitOf`); a group
   * commits relaxed only when none of its writes is durable.
   */
  readonly durable?: boolean
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
   * Runs `work` (synchronous, like any better-sqlite3 transaction: it must not await) in the next
   * group's transaction and resolves with its result once that transaction committed; rejects with
   * what `work` threw (its writes rolled back, the group's others kept) or with the commit's error
   * (nothing kept).
   */
  run<T>(work: () => T, options?: GroupWriteOptions): Promise<T>
  /**
   * A caller is on its way to `run` a write (checking, decrypting): until it calls the returned
   * function, which it does once its write has settled or it gave up, groups wait for it (up to
   * `maxWaitMs`). Each caller queues one write at most.
   */
  arriving(): () => void
  stats(): GroupCommitStats
}

interface Pending {
  readonly work: () => unknown
  readonly bytes: number
  readonly durable: boolean
  readonly resolve: (value: unknown) => void
  readonly reject: (err: unknown) => void
}

type Outcome =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: unknown }

/** A group commit over `db`'s connection: writes from anywhere on it may share its commits. */
export function createGroupCommit(db: Db, init: GroupCommitInit = {}): GroupCommit {
  const maxSize = init.maxSize ?? GROUP_COMMIT_MAX_SIZE
  const maxBytes = init.maxBytes ?? GROUP_COMMIT_MAX_BYTES
  const maxWaitMs = init.maxWaitMs ?? 0
  if (!Number.isInteger(maxSize) || maxSize < 1) throw new RangeError('maxSize must be a positive integer')
  if (!(maxBytes > 0)) throw new RangeError('maxBytes must be positive')
  if (!(maxWaitMs >= 0)) throw new RangeError('maxWaitMs must not be negative')
  const relaxed = relaxedCommitOf(db)
  let queue: Pending[] = []
  /** Callers announced as arriving that have not said they are done. */
  let arriving = 0
  let immediate: NodeJS.Immediate | undefined
  let timer: NodeJS.Timeout | undefined
  let commits = 0
  let committed = 0
  let rolledBack = 0

  // Called inside the group's transaction, a better-sqlite3 transaction is a savepoint.
  const savepoint = db.transaction((work: () => unknown) => work())
  const group = db.transaction((items: readonly Pending[]): Outcome[] =>
    items.map((item): Outcome => {
      try {
        return { ok: true, value: savepoint(item.work) }
      } catch (error) {
        return { ok: false, error }
      }
    })
  )

  const flush = () => {
    clearTimeout(timer)
    clearImmediate(immediate)
    timer = undefined
    immediate = undefined
    let count = 0
    let bytes = 0
    while (count < queue.length && count < maxSize) {
      const next = (queue[count] as Pending).bytes
      if (count > 0 && bytes + next > maxBytes) break
      bytes += next
      count++
    }
    const items = queue.slice(0, count)
    queue = queue.slice(count)
    if (queue.length > 0) schedule()
    if (items.length === 0) return
    let outcomes: Outcome[]
    try {
      outcomes = items.some((item) => item.durable) ? group(items) : relaxed(() => group(items))
    } catch (err) {
      // The commit itself failed (disk full, I/O error, a deferred constraint): all rolled back.
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
    if (queue.length === 0 || immediate) return
    // Every caller announced has queued its write (or the group is full): nothing to wait for.
    if (queue.length >= arriving || queue.length >= maxSize || maxWaitMs <= 0) {
      clearTimeout(timer)
      timer = undefined
      // After the I/O of this turn: whatever writes it delivers join the same group.
      immediate = setImmediate(flush)
    } else {
      timer ??= setTimeout(flush, maxWaitMs)
    }
  }

  return {
    run<T>(work: () => T, options: GroupWriteOptions = {}): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({
          work,
          bytes: options.bytes ?? 0,
          durable: options.durable !== false,
          resolve: resolve as (value: unknown) => void,
          reject
        })
        schedule()
      })
    },
    arriving() {
      arriving++
      let done = false
      return () => {
        if (done) return
        done = true
        arriving--
        schedule()
      }
    },
    stats: () => ({ commits, committed, rolledBack })
  }
}
