import { closeSync, fsyncSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { randomBytes } from 'node:crypto'

/**
 * Crash-safe file replacement: write a temp file beside the target (mode 0600), fsync it, rename it
 * over the target, fsync the directory. A crash at any point leaves either the old or the new file
 * whole, never a mix; a leftover temp file is ignored by readers.
 */
export interface AtomicWriteOptions {
  readonly mode?: number
  /** Runs after the temp file is durable and before the rename (crash tests stop the process here). */
  readonly beforeRename?: (tempPath: string) => void
}

export function atomicWriteFileSync(
  path: string,
  data: string | Uint8Array,
  opts: AtomicWriteOptions = {}
): void {
  const dir = dirname(path)
  const temp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`)
  const fd = openSync(temp, 'wx', opts.mode ?? 0o600)
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data
    let written = 0
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written)
    fsyncSync(fd)
  } catch (err) {
    closeSync(fd)
    rmSync(temp, { force: true })
    throw err
  }
  closeSync(fd)
  try {
    opts.beforeRename?.(temp)
    renameSync(temp, path)
  } catch (err) {
    rmSync(temp, { force: true })
    throw err
  }
  // The rename is durable only once the directory entry is on disk.
  const dirFd = openSync(dir, 'r')
  try {
    fsyncSync(dirFd)
  } finally {
    closeSync(dirFd)
  }
}

/**
 * Removes temp files a crashed `atomicWriteFileSync` of `path` left behind. Only safe while no other
 * process writes `path` (the key ring service calls it holding the ring's lock). Returns how many.
 */
export function removeStaleTempFiles(path: string): number {
  const dir = dirname(path)
  const prefix = `.${basename(path)}.`
  let removed = 0
  for (const name of readdirSync(dir)) {
    if (name.startsWith(prefix) && name.endsWith('.tmp')) {
      rmSync(join(dir, name), { force: true })
      removed++
    }
  }
  return removed
}
