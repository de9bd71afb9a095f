import { setImmediate as yieldToLoop } from 'node:timers/promises'
import { AbortedError } from '../core/errors.ts'
import { KeyVersionInUseError } from './errors.ts'
import type { KeyRing, KeyVersionInfo } from './key-ring.ts'

/**
 * Key ring operations that depend on what is stored: each record is a Fernet token with the data key
 * version that made it. The ciphertext holds the token as ASCII, or its raw bytes (first byte 0x80);
 * rewrap keeps whichever form it finds.
 */

/** The stored records as the key ring sees them; node/store's `RecordRepository` implements it. */
export interface StoredRecords {
  /** How many records each key version protects. */
  countByKeyVersion(): Map<number, number>
  /** How many records are under a key version below `version`. */
  countBelowKeyVersion(version: number): number
  /** How many records are under another key version than `version`. */
  countNotAtKeyVersion(version: number): number
  /** Up to `limit` records not under `version` with an id above `afterId`, by id. */
  listNotAtKeyVersion(
    version: number,
    afterId: number,
    limit: number
  ): readonly { readonly id: number; readonly keyVersion: number; readonly ciphertext: Buffer }[]
  /**
   * Moves records to `toVersion` in one transaction, each only while still under its `fromVersion`;
   * returns how many moved.
   */
  rewrap(
    toVersion: number,
    changes: readonly { readonly id: number; readonly fromVersion: number; readonly ciphertext: Buffer }[]
  ): number
}

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

export function keyRingStatus(ring: KeyRing, records: StoredRecords): KeyRingReport {
  const counts = records.countByKeyVersion()
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
  records: StoredRecords,
  version: number,
  opts: { force?: boolean } = {}
): Promise<void> {
  const dependent = records.countBelowKeyVersion(version)
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
  records: StoredRecords,
  opts: { force?: boolean } = {}
): Promise<number[]> {
  const dependent = records.countBelowKeyVersion(ring.minimumDecryptionVersion)
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

/**
 * Re-encrypts every record not under the primary key, in batches of `batchSize`, each batch in one
 * transaction. Progress is the rows' own `key_version`, so a rewrap stopped at any point (crash,
 * abort) resumes where it stopped when run again. Plaintext exists only in memory, one batch at a time.
 * A record that does not decrypt is reported in `failed` and left untouched.
 */
export async function rewrapRecords(
  ring: KeyRing,
  records: StoredRecords,
  opts: RewrapOptions = {}
): Promise<RewrapResult> {
  const batchSize = opts.batchSize ?? 256
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new RangeError('batchSize must be >= 1')
  const primary = ring.primaryVersion
  const total = records.countNotAtKeyVersion(primary)
  const failed: { id: number; keyVersion: number; error: string }[] = []
  let done = 0
  let lastId = 0
  let batch = 0
  opts.onProgress?.({ done, total, failed: 0 })
  for (;;) {
    if (opts.signal?.aborted)
      throw new AbortedError('rewrap aborted; run it again to resume', { cause: opts.signal.reason })
    const rows = records.listNotAtKeyVersion(primary, lastId, batchSize)
    if (rows.length === 0) break
    lastId = rows[rows.length - 1]!.id
    const changes: { id: number; fromVersion: number; ciphertext: Buffer }[] = []
    for (const row of rows) {
      const raw = row.ciphertext[0] === 0x80
      const token = raw ? Buffer.from(row.ciphertext).toString('base64url') : row.ciphertext.toString('ascii')
      try {
        const padded = token + '='.repeat((4 - (token.length % 4)) % 4)
        const plaintext = ring.decryptForRewrap(row.keyVersion, padded)
        const fresh = ring.encrypt(plaintext).token
        Buffer.from(plaintext.buffer, plaintext.byteOffset, plaintext.length).fill(0)
        changes.push({
          id: row.id,
          fromVersion: row.keyVersion,
          ciphertext: raw ? Buffer.from(fresh, 'base64url') : Buffer.from(fresh, 'ascii')
        })
      } catch (err) {
        failed.push({ id: row.id, keyVersion: row.keyVersion, error: (err as Error).name })
      }
    }
    done += records.rewrap(primary, changes)
    opts.afterBatch?.(++batch)
    opts.onProgress?.({ done, total, failed: failed.length })
    // Lets the node answer other work between batches.
    await yieldToLoop()
  }
  return { rewrapped: done, failed, primaryVersion: primary }
}
