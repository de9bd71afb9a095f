import { join } from 'node:path'
import type { Startable } from '../core/lifecycle.ts'
import type { CallOptions, HealthProbe, KeyRingAdmin, KeyRingStatus } from '../core/ports.ts'
import type { Logger } from '../log/logger.ts'
import { removeStaleTempFiles } from './atomic-file.ts'
import type { RsaKeySize } from './constants.ts'
import { KeyRingNotFoundError } from './errors.ts'
import type { KeyRing } from './key-ring.ts'
import { createKeyRing, openKeyRing } from './key-ring-open.ts'
import { lockKeyRing } from './key-ring-lock.ts'
import { keyRingStatus, type RewrapOptions, rewrapRecords, type StoredRecords } from './key-ring-records.ts'
import { keyFingerprint } from './rsa.ts'

/**
 * The key ring as a node component: opens `<dataDir>/keyring.json` with the master password at
 * start, or creates it (with fresh identity keys) on the very first start; forgets the derived keys
 * at stop. Implements the operator port `KeyRingAdmin` on top of the stored records.
 */

export interface KeyRingServiceInit {
  readonly dataDir: string
  readonly password: string
  readonly pbkdf2Iterations: number
  readonly signingKeyBits: RsaKeySize
  readonly encryptionKeyBits: RsaKeySize
}

export interface KeyRingServiceComponents {
  /** The stored records; a getter because they are opened (and need this ring) after this is built. */
  readonly records: () => StoredRecords
  readonly logger: Logger
}

/** The key ring file inside a data directory. */
export function keyRingPath(dataDir: string): string {
  return join(dataDir, 'keyring.json')
}

export class KeyRingService implements Startable, KeyRingAdmin {
  readonly name = 'keyring'
  readonly #components: KeyRingServiceComponents
  readonly #init: KeyRingServiceInit
  #ring: KeyRing | undefined
  #unlock: (() => void) | undefined
  #records: StoredRecords | undefined

  constructor(components: KeyRingServiceComponents, init: KeyRingServiceInit) {
    this.#components = components
    this.#init = init
  }

  /** The unlocked ring; only valid between start and stop. */
  get ring(): KeyRing {
    if (!this.#ring) throw new Error('key ring is not started')
    return this.#ring
  }

  async start(): Promise<void> {
    const path = keyRingPath(this.#init.dataDir)
    const log = this.#components.logger
    this.#unlock = lockKeyRing(path)
    try {
      const stale = removeStaleTempFiles(path)
      if (stale > 0) log.warn({ path, stale }, 'removed temp files of an interrupted key ring write')
      await this.#open(path, log)
    } catch (err) {
      this.#unlock()
      this.#unlock = undefined
      throw err
    }
  }

  async #open(path: string, log: Logger): Promise<void> {
    try {
      this.#ring = await openKeyRing(path, this.#init.password)
      log.info({ path, primaryVersion: this.#ring.primaryVersion }, 'key ring unlocked')
    } catch (err) {
      if (!(err instanceof KeyRingNotFoundError)) throw err
      log.info({ path }, 'no key ring yet: creating one with new identity keys')
      this.#ring = await createKeyRing(path, this.#init.password, {
        iterations: this.#init.pbkdf2Iterations,
        signingKeyBits: this.#init.signingKeyBits,
        encryptionKeyBits: this.#init.encryptionKeyBits
      })
      log.info(
        { path, signingKeyId: keyFingerprint(this.#ring.identity.signing.publicKeyPem) },
        'key ring created'
      )
    }
  }

  stop(): void {
    this.#ring?.close()
    this.#ring = undefined
    this.#unlock?.()
    this.#unlock = undefined
    this.#records = undefined
  }

  /** The records repository, taken once per start so its statements are prepared once. */
  #storedRecords(): StoredRecords {
    this.#records ??= this.#components.records()
    return this.#records
  }

  /**
   * The key ring's probe for `/health`, with the primary key version: read from the ring in memory,
   * without `status()`'s count of the stored records per key version, which grows with the store.
   */
  healthProbe(): HealthProbe {
    return {
      name: 'keyring',
      check: async () => ({ status: 'up', detail: { primary_version: this.ring.primaryVersion } })
    }
  }

  async status(_options?: CallOptions): Promise<KeyRingStatus> {
    const ring = this.ring
    const s = keyRingStatus(ring, this.#storedRecords())
    return {
      primaryVersion: s.primaryVersion,
      minimumVersion: s.minimumDecryptionVersion,
      versions: s.versions.map((v) => ({
        version: v.version,
        createdAt: v.createdAt,
        retired: v.state === 'retired' || v.state === 'destroyed'
      })),
      recordsByVersion: Object.fromEntries(
        s.versions.filter((v) => v.items > 0).map((v) => [String(v.version), v.items])
      ),
      signingKeyId: keyFingerprint(ring.identity.signing.publicKeyPem),
      encryptionKeyId: keyFingerprint(ring.identity.encryption.publicKeyPem)
    }
  }

  async rotate(_options?: CallOptions): Promise<{ readonly primaryVersion: number }> {
    const primaryVersion = await this.ring.rotate()
    this.#components.logger.info({ primaryVersion }, 'data key rotated')
    return { primaryVersion }
  }

  async rewrap(options: CallOptions & Pick<RewrapOptions, 'batchSize' | 'onProgress'> = {}) {
    const result = await rewrapRecords(this.ring, this.#storedRecords(), options)
    this.#components.logger.info(
      { rewrapped: result.rewrapped, failed: result.failed.length, primaryVersion: result.primaryVersion },
      'records rewrapped'
    )
    return result
  }
}
