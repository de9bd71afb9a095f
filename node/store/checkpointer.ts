import { Worker } from 'node:worker_threads'

/**
 * Folds the WAL back into the database file from a thread of its own. Commits append records to
 * the WAL, and a checkpoint copies them into the database file and syncs it: a second write of
 * every record, which on the event loop would stall the node for as long as it takes (tens of
 * milliseconds per MiB of shares committed since the last one). The thread has its own
 * connection; SQLite's locks let it checkpoint while the node reads and commits. A passive
 * checkpoint never waits for a lock: one that finds the WAL busy folds what it can and the next
 * tick does the rest. The node's connection keeps its autocheckpoint as the backstop
 * (database.ts).
 */
export interface Checkpointer {
  /** Ends the thread after its current checkpoint; its connection is closed when this resolves. */
  stop(): Promise<void>
}

export interface CheckpointerInit {
  readonly path: string
  readonly intervalMs: number
  readonly synchronous: 'FULL' | 'NORMAL' | 'EXTRA'
  /** Told of a checkpoint that failed (it is tried again at the next tick). */
  readonly onError: (message: string) => void
}

/** Starts the checkpointing thread for the database at `path`, which must exist in WAL mode. */
export function startCheckpointer(init: CheckpointerInit): Checkpointer {
  const worker = new Worker(new URL('./checkpoint-worker.ts', import.meta.url), {
    workerData: { path: init.path, intervalMs: init.intervalMs, synchronous: init.synchronous }
  })
  worker.on('message', (message: { error?: string }) => {
    if (message.error !== undefined) init.onError(message.error)
  })
  worker.on('error', (err) => init.onError(err.message))
  // A node that exits does not wait for its checkpointer.
  worker.unref()
  // Not events.once: it rejects on an 'error' event, which is reported above instead.
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()))
  return {
    async stop() {
      worker.postMessage('stop')
      await exited
    }
  }
}
