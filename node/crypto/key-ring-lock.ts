import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'
import { KeyRingLockedError } from './errors.ts'

/**
 * An exclusive lock beside the key ring file (`<path>.lock`, holding the owner's pid). A running
 * node holds it, so `dmn keys rotate` and friends cannot rewrite the ring under it: two writers
 * would each write their own view and one change (a new key version!) would be lost. A lock whose
 * process is gone is stale and taken over.
 */

// Locks this process holds: a lock file naming our own pid is ours only if we took it; otherwise it
// is left from an earlier process that had the same pid (a container's node is often pid 1 every time).
const held = new Set<string>()

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Takes the lock or throws KeyRingLockedError; returns the release function. */
export function lockKeyRing(path: string): () => void {
  const lockPath = `${path}.lock`
  mkdirSync(dirname(lockPath), { recursive: true, mode: 0o700 })
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx', 0o600)
      writeSync(fd, String(process.pid))
      closeSync(fd)
      held.add(lockPath)
      return () => {
        held.delete(lockPath)
        rmSync(lockPath, { force: true })
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const owner = Number.parseInt(readFileSync(lockPath, 'utf8'), 10)
      const ours = owner === process.pid
      if (Number.isInteger(owner) && (ours ? held.has(lockPath) : alive(owner))) {
        throw new KeyRingLockedError(
          `key ring ${path} is in use by process ${owner} (a running node); use the node's internal API or stop it`
        )
      }
      rmSync(lockPath, { force: true })
    }
  }
  throw new KeyRingLockedError(`could not lock key ring ${path}`)
}
