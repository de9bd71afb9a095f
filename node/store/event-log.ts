import type { Db } from './database.ts'
import { EventTriggersMissingError } from './errors.ts'
import { missingTriggers } from './triggers.ts'

/**
 * The event log (table `events`, migrations/0012_event_log.sql): what `GET /events` streams and
 * webhooks deliver. Ids are stable and increase (SQLite AUTOINCREMENT: never reused, not even after
 * pruning). Most events are written by triggers in the same transaction as the state change they
 * report (shares, outbox, peers, security_log); `append` is for events no table change carries.
 */

/** The triggers that write the log (migrations/0012_event_log.sql, 0015_share_resolved_event.sql). */
export const EVENT_TRIGGERS: readonly string[] = [
  'events_share_accepted',
  'events_share_received',
  'events_share_delivered',
  'events_share_attempt_failed',
  'events_share_failed',
  'events_share_resolved',
  'events_audit_sent',
  'events_audit_confirmed',
  'events_audit_chain_reset',
  'events_peer_verified',
  'events_security'
]

/**
 * Throws EventTriggersMissingError when the log exists but a trigger that writes it is gone (a
 * later migration rebuilt its table): the node would lose events without a word.
 */
export function checkEventTriggers(db: Db): void {
  const missing = missingTriggers(db, 'events', EVENT_TRIGGERS)
  if (missing.length > 0) {
    throw new EventTriggersMissingError(
      `the event log's triggers ${missing.join(', ')} are missing: a migration rebuilt their table after 0012_event_log.sql; a migration must create them again`
    )
  }
}

/** One event of the log; `data` is its snake_case payload. */
export interface StoredEvent {
  readonly id: number
  readonly type: string
  readonly at: number /* unix ms */
  readonly data: Readonly<Record<string, unknown>>
}

interface RawEvent {
  id: number
  type: string
  at: number
  data: string
}

// Rows deleted per statement while pruning: a long backlog never holds the write lock for long.
const PRUNE_BATCH = 5_000

const toEvent = (r: RawEvent): StoredEvent => ({
  id: r.id,
  type: r.type,
  at: r.at,
  data: JSON.parse(r.data) as Record<string, unknown>
})

/** Repository over `events`. Synchronous, so it composes inside a caller's `db.transaction()`. */
export class EventLogRepository {
  readonly #insert
  readonly #after
  readonly #oldest
  readonly #latest
  readonly #prune

  constructor(db: Db) {
    this.#insert = db.prepare<[string, number, string]>(
      'INSERT INTO events (type, at, data) VALUES (?, ?, ?)'
    )
    // `@types` is a JSON array of prefixes, or null for every type.
    this.#after = db.prepare<[{ after: number; types: string | null; limit: number }], RawEvent>(
      `SELECT id, type, at, data FROM events e
       WHERE id > @after AND (@types IS NULL OR EXISTS (
         SELECT 1 FROM json_each(@types) p WHERE substr(e.type, 1, length(p.value)) = p.value))
       ORDER BY id LIMIT @limit`
    )
    this.#oldest = db.prepare<[], { id: number | null }>('SELECT min(id) AS id FROM events')
    // The last id handed out, which pruning does not lower (sqlite_sequence is AUTOINCREMENT's own).
    this.#latest = db.prepare<[], { id: number | null }>(
      `SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0),
                  coalesce((SELECT max(id) FROM events), 0)) AS id`
    )
    this.#prune = db.prepare<[number, number]>(
      'DELETE FROM events WHERE id IN (SELECT id FROM events WHERE at < ? ORDER BY id LIMIT ?)'
    )
  }

  /** For events that no table change reports; call inside the caller's transaction. Returns the id. */
  append(type: string, data: Record<string, unknown>, at: number = Date.now()): number {
    return Number(this.#insert.run(type, at, JSON.stringify(data)).lastInsertRowid)
  }

  /** Events with id > afterId, ascending, at most limit; `types` keeps types starting with one of the prefixes. */
  after(afterId: number, limit: number, types?: readonly string[]): StoredEvent[] {
    const filter = types && types.length > 0 ? JSON.stringify(types) : null
    return this.#after.all({ after: afterId, types: filter, limit }).map(toEvent)
  }

  /** The oldest retained event's id; undefined when the log holds none. */
  oldestId(): number | undefined {
    return this.#oldest.get()?.id ?? undefined
  }

  /** The last id handed out (0 before the first event); pruning does not lower it. */
  latestId(): number {
    return this.#latest.get()?.id ?? 0
  }

  /** Deletes events older than the cutoff (unix ms); returns how many. */
  pruneBefore(cutoffMs: number): number {
    let deleted = 0
    for (;;) {
      const n = this.#prune.run(cutoffMs, PRUNE_BATCH).changes
      deleted += n
      if (n < PRUNE_BATCH) return deleted
    }
  }
}
