import { parentPort, workerData } from 'node:worker_threads'
import Database from 'better-sqlite3'

/**
 * The body of the WAL checkpointer's thread (checkpointer.ts): its own connection to the node's
 * database, a passive checkpoint every `intervalMs`, closed on the first message. A checkpoint that
 * fails is reported and tried again at the next tick; a database that does not open, once.
 */

const { path, intervalMs, synchronous } = workerData as {
  path: string
  intervalMs: number
  synchronous: string
}
const port = parentPort
if (!port) throw new Error('the checkpointer runs in a worker thread')
const report = (err: unknown) => port.postMessage({ error: err instanceof Error ? err.message : String(err) })

let db: Database.Database | undefined
let timer: NodeJS.Timeout | undefined
try {
  db = new Database(path, { fileMustExist: true })
  // The database file is synced after a checkpoint as the node's commits sync the WAL.
  db.pragma(`synchronous = ${synchronous}`)
  const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)')
  timer = setInterval(() => {
    try {
      checkpoint.run()
    } catch (err) {
      report(err)
    }
  }, intervalMs)
} catch (err) {
  report(err)
}
port.once('message', () => {
  clearInterval(timer)
  db?.close()
  port.close()
})
