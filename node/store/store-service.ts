import { join } from 'node:path'
import type { Startable } from '../core/lifecycle.ts'
import type { HealthProbe } from '../core/ports.ts'
import type { Logger } from '../log/logger.ts'
import type { Statement } from 'better-sqlite3'
import { type Checkpointer, startCheckpointer } from './checkpointer.ts'
import { type Db, openDatabase } from './database.ts'
import { checkEventTriggers, EventLogRepository } from './event-log.ts'
import { checkInboundAuditTriggers } from './inbound-audit.ts'
import { migrate } from './migrations.ts'

/** How often the store folds the WAL back into the database file (a passive checkpoint). */
export const CHECKPOINT_INTERVAL_MS = 1_000

export interface StoreInit {
  readonly dataDir: string
  readonly synchronous: 'FULL' | 'NORMAL' | 'EXTRA'
  readonly busyTimeoutMs: number
}

export interface StoreComponents {
  readonly logger: Logger
}

/** The path of the node's database inside its data directory. */
export function databasePath(dataDir: string): string {
  return join(dataDir, 'node.db')
}

/** Owns the node's database: opens and migrates it at start, checkpoints and closes it at stop. */
export class StoreService implements Startable {
  readonly name = 'store'
  readonly #init: StoreInit
  readonly #logger: Logger
  #db: Db | undefined
  #ping: Statement<[], unknown> | undefined
  #eventLog: EventLogRepository | undefined
  #checkpointer: Checkpointer | undefined

  constructor(components: StoreComponents, init: StoreInit) {
    this.#logger = components.logger
    this.#init = init
  }

  /** The open database; only valid between start and stop. */
  get db(): Db {
    if (!this.#db) throw new Error('store is not started')
    return this.#db
  }

  /** The event log over the open database (GET /events, webhooks); only valid between start and stop. */
  get eventLog(): EventLogRepository {
    this.#eventLog ??= new EventLogRepository(this.db)
    return this.#eventLog
  }

  /** Throws when the database does not answer a query (for the health probe). */
  check(): void {
    if (!this.#ping) throw new Error('store is not started')
    this.#ping.get()
  }

  /** The database's probe for `/health`: up while it answers a query. */
  healthProbe(): HealthProbe {
    return {
      name: 'database',
      check: async () => {
        this.check()
        return { status: 'up' }
      }
    }
  }

  start(): void {
    const path = databasePath(this.#init.dataDir)
    const db = openDatabase(path, {
      synchronous: this.#init.synchronous,
      busyTimeoutMs: this.#init.busyTimeoutMs
    })
    try {
      const applied = migrate(db)
      checkEventTriggers(db)
      checkInboundAuditTriggers(db)
      this.#logger.info({ path, applied: applied.map((m) => m.version) }, 'database open')
    } catch (err) {
      db.close()
      throw err
    }
    this.#db = db
    this.#ping = db.prepare('SELECT 1')
    // Off the event loop: commits append to the WAL, a thread of its own folds it back (checkpointer.ts).
    this.#checkpointer = startCheckpointer({
      path,
      intervalMs: CHECKPOINT_INTERVAL_MS,
      synchronous: this.#init.synchronous,
      onError: (message) => this.#logger.warn({ error: message }, 'WAL checkpoint failed')
    })
  }

  async stop(): Promise<void> {
    await this.#checkpointer?.stop()
    this.#checkpointer = undefined
    if (!this.#db) return
    // Folds the WAL back into the main file so a stopped node leaves one self-contained file.
    this.#db.pragma('wal_checkpoint(TRUNCATE)')
    this.#db.close()
    this.#db = undefined
    this.#ping = undefined
    this.#eventLog = undefined
    this.#logger.info('database closed')
  }
}
