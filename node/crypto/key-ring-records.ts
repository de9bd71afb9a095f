import { setImmediate as yieldToLoop } from 'node:timers/promises'
import type { Db } from '../store/database.ts'
import { AbortedError } from '../core/errors.ts'
import { KeyVersionInUseError } from './errors.ts'
import type { KeyRing, KeyVersionInfo } from './key-ring.ts'

/**
 * Key ring operations that depend on what is stored: the `records` table holds Fernet tokens with
 * the data key version that made them (`key_version`). `ciphertext` holds the token as ASCII, or its
 * raw bytes (first byte 0x80); rewrap keeps whichever form it finds.
 */

export interface KeyVersionStatus extends KeyVersionInfo {
  /** How many stored records this version still protects. */
  readonly items: number
}

/** The key ring and what it protects, as `dmn keys status` reports it. */
export interface KeyRingReport {
  readonly path: string
  readonly primaryVersion: number
  readonly minimumDecryptionVersion: number
  readonly kdf: { readonly algorithm: string; readonly iterations: number }
  readonly versions: readonly KeyVersionStatus[]
  /** Records not yet under the primary key (what a rewrap would move). */
  readonly itemsToRewrap: number
}

/** Records per key version. */
export function countItemsByVersion(db: Db): Map<number, number> {
  const rows = db
    .prepare('SELECT key_version AS v, COUNT(*) AS n FROM records GROUP BY key_version')
    .all() as {
    v: number
    n: number
  }[]
  return new Map(rows.map((r) => [r.v, r.n]))
}

function itemsBelow(db: Db, version: number): number {
  return (db.prepare('SELECT COUNT(*) AS n FROM records WHERE key_version < ?').get(version) as { n: number })
    .n
}

export function keyRingStatus(ring: KeyRing, db: Db): KeyRingReport {
  const counts = countItemsByVersion(db)
  const versions = ring.versions().map((v) => ({ ...v, items: counts.get(v.version) ?? 0 }))
  return {
    path: ring.path,
    primaryVersion: ring.primaryVersion,
    minimumDecryptionVersion: ring.minimumDecryptionVersion,
    kdf: { algorithm: ring.kdf.algorithm, iterations: ring.kdf.iterations },
    versions,
    itemsToRewrap: [...counts].filter(([v]) => v !== ring.primaryVersion).reduce((sum, [, n]) => sum + n, 0)
  }
}

/**
 * Raises (or lowers) the minimum decryption version. Refused with KeyVersionInUseError while records
 * depend on older versions, unless `force` (those records then stay unreadable until the minimum
 * is lowered again, or rewrapped, which may still use retired keys until they are destroyed).
 */
export async function setMinimumDecryptionVersion(
  ring: KeyRing,
  db: Db,
  version: number,
  opts: { force?: boolean } = {}
): Promise<void> {
  const dependent = itemsBelow(db, version)
  if (dependent > 0 && !opts.force) {
    throw new KeyVersionInUseError(
      `${dependent} stored record(s) still use key versions below ${version}; run a rewrap first or force`
    )
  }
  await ring.setMinimumDecryptionVersionUnchecked(version)
}

/** Destroys retired key versions; refused while records depend on them unless `force` (they are then lost). */
export async function destroyRetiredVersions(
  ring: KeyRing,
  db: Db,
  opts: { force?: boolean } = {}
): Promise<number[]> {
  const dependent = itemsBelow(db, ring.minimumDecryptionVersion)
  if (dependent > 0 && !opts.force) {
    throw new KeyVersionInUseError(
      `${dependent} stored record(s) depend on retired versions; destroying them would lose those records`
    )
  }
  return ring.destroyRetiredVersionsUnchecked()
}

export interface RewrapProgress {
  readonly done: number
  readonly total: number
  readonly failed: number
}

export interface RewrapOptions {
  readonly batchSize?: number
  readonly signal?: AbortSignal
  readonly onProgress?: (p: RewrapProgress) => void
  /** Called after each committed batch (crash tests stop the process here). */
  readonly afterBatch?: (batch: number) => void
}

export interface RewrapResult {
  readonly rewrapped: number
  readonly failed: readonly { id: number; keyVersion: number; error: string }[]
  readonly primaryVersion: number
}

interface Row {
  id: number
  key_version: number
  ciphertext: Buffer
}

/**
 * Re-encrypts every record not under the primary key, in batches of `batchSize`, each batch in one
 * transaction. Progress is the rows' own `key_version`, so a rewrap stopped at any point (crash,
 * abort) resumes where it stopped when run again. Plaintext exists only in memory, one batch at a time.
 * A record that does not decrypt is reported in `failed` and left untouched.
 */
export async function rewrapRecords(ring: KeyRing, db: Db, opts: RewrapOptions = {}): Promise<RewrapResult> {
  const batchSize = opts.batchSize ?? 256
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new RangeError('batchSize must be >= 1')
  const primary = ring.primaryVersion
  const total = (
    db.prepare('SELECT COUNT(*) AS n FROM records WHERE key_version <> ?').get(primary) as { n: number }
  ).n
  const select = db.prepare(
    'SELECT id, key_version, ciphertext FROM records WHERE key_version <> ? AND id > ? ORDER BY id LIMIT ?'
  )
  const update = db.prepare(
    'UPDATE records SET key_version = ?, ciphertext = ? WHERE id = ? AND key_version = ?'
  )
  const failed: { id: number; keyVersion: number; error: string }[] = []
  let done = 0
  let lastId = 0
  let batch = 0
  opts.onProgress?.({ done, total, failed: 0 })
  for (;;) {
    if (opts.signal?.aborted)
      throw new AbortedError('rewrap aborted; run it again to resume', { cause: opts.signal.reason })
    const rows = select.all(primary, lastId, batchSize) as Row[]
    if (rows.length === 0) break
    lastId = rows[rows.length - 1]!.id
    const changes: { id: number; from: number; ciphertext: Buffer }[] = []
    for (const row of rows) {
      const raw = row.ciphertext[0] === 0x80
      const token = raw ? Buffer.from(row.ciphertext).toString('base64url') : row.ciphertext.toString('ascii')
      try {
        const padded = token + '='.repeat((4 - (token.length % 4)) % 4)
        const plaintext = ring.decryptForRewrap(row.key_version, padded)
        const fresh = ring.encrypt(plaintext).token
        Buffer.from(plaintext.buffer, plaintext.byteOffset, plaintext.length).fill(0)
        changes.push({
          id: row.id,
          from: row.key_version,
          ciphertext: raw ? Buffer.from(fresh, 'base64url') : Buffer.from(fresh, 'ascii')
        })
      } catch (err) {
        failed.push({ id: row.id, keyVersion: row.key_version, error: (err as Error).name })
      }
    }
    db.transaction(() => {
      for (const c of changes) done += update.run(primary, c.ciphertext, c.id, c.from).changes
    })()
    opts.afterBatch?.(++batch)
    opts.onProgress?.({ done, total, failed: failed.length })
    // Lets the node answer other work between batches.
    await yieldToLoop()
  }
  return { rewrapped: done, failed, primaryVersion: primary }
}
