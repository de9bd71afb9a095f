/**
 * Keeps the event log within its retention: deletes events older than `retentionMs` at start and
 * then every `intervalMs`. A reader whose cursor falls behind what is kept is told so by `/events`
 * (an `expired` event) and goes on from the oldest event left.
 */
import type { Startable } from './core/lifecycle.ts'
import type { Logger } from './log/logger.ts'

// Often enough that the log never holds much more than its retention, rarely enough to cost nothing.
const MAX_INTERVAL_MS = 10 * 60_000
const MIN_INTERVAL_MS = 1_000

export interface EventPruner {
  pruneBefore(cutoffMs: number): number
}

export interface EventRetentionComponents {
  readonly eventLog: () => EventPruner
  readonly logger: Logger
}

export interface EventRetentionInit {
  readonly retentionMs: number
  /** How often to prune; a tenth of the retention, between 1 s and 10 min, unless given. */
  readonly intervalMs?: number
  /** Milliseconds clock (tests). */
  readonly now?: () => number
}

export function createEventRetention(
  components: EventRetentionComponents,
  init: EventRetentionInit
): Startable {
  const { eventLog, logger } = components
  const now = init.now ?? Date.now
  const intervalMs =
    init.intervalMs ?? Math.min(MAX_INTERVAL_MS, Math.max(MIN_INTERVAL_MS, Math.floor(init.retentionMs / 10)))
  let timer: NodeJS.Timeout | undefined
  const prune = () => {
    try {
      const deleted = eventLog().pruneBefore(now() - init.retentionMs)
      if (deleted > 0) logger.info({ deleted, retentionMs: init.retentionMs }, 'pruned the event log')
    } catch (err) {
      // A busy database is no reason to stop the node: the next round prunes what this one left.
      logger.warn({ err }, 'pruning the event log failed')
    }
  }
  return {
    name: 'event-retention',
    start() {
      prune()
      timer = setInterval(prune, intervalMs)
      timer.unref()
    },
    stop() {
      clearInterval(timer)
      timer = undefined
    }
  }
}
