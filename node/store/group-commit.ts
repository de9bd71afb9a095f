import { type Db, relaxedCommitOf } from './database.ts'

/**
 * Group commit: the works queued in one turn of the event loop run in one SQLite transaction, so a
 * single commit (one fsync under `synchronous = FULL`) carries all of them to the disk. Each work
 * runs in a savepoint of its own: one that throws rolls back its own writes and rejects its own
 * caller, and the others commit. Every promise settles only once the shared COMMIT has returned,
 * so a caller that answers a peer when its promise resolves never answers for a write that a
 * crash could still undo; a COMMIT that fails rejects every work of the group.
 *
 * The works of a group run one after the other, synchronously, as one transaction: what can be
 * done before (signature checks, decryption) belongs outside them, so the group stays short.
 *
 * Works that come one by one (shares whose decryption ends at different moments) would each make a
 * group of one. A caller on its way to a work says so (`arriving`); while such callers have not
 * queued their works yet, a group waits for them, at most `maxWaitMs` after its first work (as a
 * database's commit delay waits for sibling transactions).
 */

/** Settings of a group commit. */
export interface GroupCommitInit {
  /** How long a group waits for works announced as arriving, from its first work (0: never). */
  readonly maxWaitMs?: number
  /** The most works in one group; a full group commits at once. */
  readonly maxWorks?: number
}

const DEFAULT_MAX_WORKS = 256

/** How a group's commit reaches the disk: a work that needs no fsync of its own says so. */
export interface GroupWorkOptions {
  /** false: this work's commit may wait for the next durable one (see `relaxedCommitOf`). */
  readonly durable?: boolean
}

interface Queued {
  readonly work: () => unknown
  readonly durable: boolean
  readonly resolve: (value: unknown) => void
  readonly reject: (err: unknown) => void
}

type Outcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly err: unknown }

/** The group commit of one connection: works from anywhere on it may share its commits. */
export class GroupCommit {
  readonly #relaxed: <T>(work: () => T) => T
  /** The group's transaction; called inside it, a better-sqlite3 transaction is a savepoint. */
  readonly #group: (queued: readonly Queued[]) => Outcome[]
  readonly #savepoint: (work: () => unknown) => unknown
  readonly #maxWaitMs: number
  readonly #maxWorks: number
  #queued: Queued[] = []
  /** Callers announced as arriving that have not said they are done. */
  #arriving = 0
  #immediate: NodeJS.Immediate | undefined
  #timer: NodeJS.Timeout | undefined
  /** Groups committed so far, and the works they carried: for tests and figures. */
  groups = 0
  works = 0

  constructor(db: Db, init: GroupCommitInit = {}) {
    this.#maxWaitMs = init.maxWaitMs ?? 0
    this.#maxWorks = init.maxWorks ?? DEFAULT_MAX_WORKS
    this.#relaxed = relaxedCommitOf(db)
    this.#savepoint = db.transaction((work: () => unknown) => work())
    this.#group = db.transaction((queued: readonly Queued[]) =>
      queued.map((q): Outcome => {
        try {
          return { ok: true, value: this.#savepoint(q.work) }
        } catch (err) {
          return { ok: false, err }
        }
      })
    )
  }

  /**
   * Runs `work` (synchronous: it must not await) in the next group's transaction; resolves with its
   * result once that transaction has committed, rejects with what it threw (its writes undone) or
   * with the commit's error.
   */
  run<T>(work: () => T, options: GroupWorkOptions = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queued.push({
        work,
        durable: options.durable !== false,
        resolve: resolve as (value: unknown) => void,
        reject
      })
      this.#schedule()
    })
  }

  /**
   * A caller is on its way to `run` a work (checking, decrypting): until it calls the returned
   * function, which it does once its work has settled or it gave up, groups wait for it (up to
   * `maxWaitMs`). Each caller queues one work at most.
   */
  arriving(): () => void {
    this.#arriving += 1
    let done = false
    return () => {
      if (done) return
      done = true
      this.#arriving -= 1
      this.#schedule()
    }
  }

  #schedule(): void {
    if (this.#queued.length === 0 || this.#immediate) return
    // Every caller announced has queued its work (or the group is full): nothing to wait for.
    if (
      this.#queued.length >= this.#arriving ||
      this.#queued.length >= this.#maxWorks ||
      this.#maxWaitMs <= 0
    ) {
      clearTimeout(this.#timer)
      this.#timer = undefined
      // After the I/O of this turn: whatever works it delivers join the same group.
      this.#immediate = setImmediate(() => this.#flush())
    } else {
      this.#timer ??= setTimeout(() => this.#flush(), this.#maxWaitMs)
    }
  }

  #flush(): void {
    clearTimeout(this.#timer)
    clearImmediate(this.#immediate)
    this.#timer = undefined
    this.#immediate = undefined
    const queued = this.#queued
    this.#queued = []
    if (queued.length === 0) return
    let outcomes: Outcome[]
    try {
      outcomes = queued.some((q) => q.durable)
        ? this.#group(queued)
        : this.#relaxed(() => this.#group(queued))
    } catch (err) {
      for (const q of queued) q.reject(err)
      return
    }
    this.groups += 1
    this.works += queued.length
    for (const [i, q] of queued.entries()) {
      const outcome = outcomes[i] as Outcome
      if (outcome.ok) q.resolve(outcome.value)
      else q.reject(outcome.err)
    }
  }
}
