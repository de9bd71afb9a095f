import { atomicWriteFileSync } from './atomic-file.ts'
import {
  KeyRingParameterError,
  KeyVersionDestroyedError,
  KeyVersionRetiredError,
  KeyVersionUnknownError
} from './errors.ts'
import {
  type FernetKeyParts,
  fernetDecrypt,
  fernetDecryptBytes,
  fernetEncrypt,
  fernetEncryptBytes,
  fernetEncryptPieces,
  generateFernetKey,
  parseFernetKey
} from './fernet.ts'
import {
  checkIterations,
  type DerivedKeys,
  deriveKeys,
  type KdfParams,
  newKdfParams,
  sealKeyRingFile
} from './key-ring-file.ts'
import type { DataKeyEntry, KeyRingState } from './key-ring-state.ts'
import type { BytePieces } from './pieces.ts'

/**
 * The node's key ring: versioned Fernet data keys (the newest is primary), the node's RSA identity
 * keys and named secrets, all in one file encrypted under the master password. Every change is
 * written atomically (temp file, fsync, rename, mode 0600) before it takes effect in memory, so a
 * failed write changes nothing.
 */

export interface KeyRingHooks {
  /** Called after the new file is durable and before it replaces the old one (crash tests). */
  readonly beforeRename?: () => void
}

export interface KeyVersionInfo {
  readonly version: number
  readonly createdAt: string
  readonly state: 'primary' | 'active' | 'retired' | 'destroyed'
  readonly origin?: string
}

export class KeyRing {
  readonly path: string
  #keys: DerivedKeys
  #state: KeyRingState
  readonly #hooks: KeyRingHooks
  /** Split data keys by key text; emptied at every change so a destroyed key leaves memory with it. */
  readonly #parts = new Map<string, FernetKeyParts>()

  constructor(path: string, keys: DerivedKeys, state: KeyRingState, hooks: KeyRingHooks = {}) {
    this.path = path
    this.#keys = keys
    this.#state = state
    this.#hooks = hooks
  }

  get primaryVersion(): number {
    return this.#state.primaryVersion
  }

  get minimumDecryptionVersion(): number {
    return this.#state.minimumDecryptionVersion
  }

  get createdAt(): string {
    return this.#state.createdAt
  }

  /** KDF parameters recorded in the file (no secret in them). */
  get kdf(): KdfParams {
    return this.#keys.kdf
  }

  /** The node's identity keys, generated at create. */
  get identity(): KeyRingState['identity'] {
    return this.#state.identity
  }

  /** Every data key version, oldest first. */
  versions(): KeyVersionInfo[] {
    const s = this.#state
    return s.dataKeys.map((k) => ({
      version: k.version,
      createdAt: k.createdAt,
      state:
        k.key === null
          ? 'destroyed'
          : k.version === s.primaryVersion
            ? 'primary'
            : k.version < s.minimumDecryptionVersion
              ? 'retired'
              : 'active',
      ...(k.origin ? { origin: k.origin } : {})
    }))
  }

  /** Fernet-encrypts under the primary data key. */
  encrypt(plaintext: Uint8Array): { keyVersion: number; token: string } {
    const version = this.#state.primaryVersion
    return { keyVersion: version, token: fernetEncrypt(this.#keyOf(version, false), plaintext) }
  }

  /** Decrypts a token made under `keyVersion`; retired, destroyed and unknown versions are refused. */
  decrypt(keyVersion: number, token: string): Uint8Array {
    return fernetDecrypt(this.#keyOf(keyVersion, false), token)
  }

  /**
   * Fernet-encrypts under the primary data key to the token's raw bytes (first byte 0x80): what
   * records keep at rest, with no base64 text to encode or check on the way.
   */
  encryptBytes(plaintext: Uint8Array): { keyVersion: number; token: Buffer } {
    const version = this.#state.primaryVersion
    return { keyVersion: version, token: fernetEncryptBytes(this.#partsOf(version), plaintext) }
  }

  /**
   * As `encryptBytes`, with the token in pieces (pieces.ts) for a caller that lays it out in a
   * buffer of its own (records at rest, which SQLite copies on insert).
   */
  encryptPieces(plaintext: Uint8Array): { keyVersion: number; token: BytePieces } {
    const version = this.#state.primaryVersion
    return { keyVersion: version, token: fernetEncryptPieces(this.#partsOf(version), plaintext) }
  }

  /** Decrypts a token's raw bytes made under `keyVersion`; refused versions as for `decrypt`. */
  decryptBytes(keyVersion: number, token: Uint8Array): Uint8Array {
    return fernetDecryptBytes(this.#partsOf(keyVersion), token)
  }

  /** A data key split once into its HMAC and AES halves (parsing a key checks its base64 strictly). */
  #partsOf(version: number): FernetKeyParts {
    const key = this.#keyOf(version, false)
    let parts = this.#parts.get(key)
    if (!parts) {
      parts = parseFernetKey(key)
      this.#parts.set(key, parts)
    }
    return parts
  }

  /** As `decrypt`, but also with retired (not destroyed) versions: only for moving data off them. */
  decryptForRewrap(keyVersion: number, token: string): Uint8Array {
    return fernetDecrypt(this.#keyOf(keyVersion, true), token)
  }

  #keyOf(version: number, allowRetired: boolean): string {
    const entry = this.#state.dataKeys[version - 1]
    if (!entry || entry.version !== version)
      throw new KeyVersionUnknownError(`no data key version ${version}`)
    if (entry.key === null) throw new KeyVersionDestroyedError(`data key version ${version} was destroyed`)
    if (!allowRetired && version < this.#state.minimumDecryptionVersion) {
      throw new KeyVersionRetiredError(
        `data key version ${version} is below the minimum decryption version ${this.#state.minimumDecryptionVersion}`
      )
    }
    return entry.key
  }

  /** Adds a new data key version and makes it primary; returns its version. */
  async rotate(): Promise<number> {
    const version = this.#state.dataKeys.length + 1
    const entry: DataKeyEntry = { version, key: generateFernetKey(), createdAt: new Date().toISOString() }
    await this.#commit({
      ...this.#state,
      dataKeys: [...this.#state.dataKeys, entry],
      primaryVersion: version
    })
    return version
  }

  /**
   * Appends keys imported from elsewhere (oldest first) and then rotates, so the primary is always a
   * key only this node has. Returns the version each imported key received.
   */
  async importDataKeys(keys: ReadonlyMap<number, string>, origin: string): Promise<Map<number, number>> {
    const now = new Date().toISOString()
    const mapping = new Map<number, number>()
    const added: DataKeyEntry[] = []
    let next = this.#state.dataKeys.length + 1
    for (const [theirs, key] of [...keys].sort((a, b) => a[0] - b[0])) {
      parseFernetKey(key)
      mapping.set(theirs, next)
      added.push({ version: next++, key, createdAt: now, origin: `${origin}:${theirs}` })
    }
    const fresh: DataKeyEntry = { version: next, key: generateFernetKey(), createdAt: now }
    await this.#commit({
      ...this.#state,
      dataKeys: [...this.#state.dataKeys, ...added, fresh],
      primaryVersion: next
    })
    return mapping
  }

  /** Sets the minimum decryption version without looking at stored items (see key-ring-records.ts). */
  async setMinimumDecryptionVersionUnchecked(version: number): Promise<void> {
    if (!Number.isSafeInteger(version) || version < 1 || version > this.#state.primaryVersion) {
      throw new KeyRingParameterError(
        `minimum decryption version must be between 1 and ${this.#state.primaryVersion}`
      )
    }
    const destroyed = this.#state.dataKeys.find((k) => k.version >= version && k.key === null)
    if (destroyed) {
      throw new KeyVersionDestroyedError(
        `version ${destroyed.version} was destroyed and cannot be active again`
      )
    }
    await this.#commit({ ...this.#state, minimumDecryptionVersion: version })
  }

  /** Destroys the key material of every retired version; returns the versions destroyed. */
  async destroyRetiredVersionsUnchecked(): Promise<number[]> {
    const min = this.#state.minimumDecryptionVersion
    const now = new Date().toISOString()
    const destroyed: number[] = []
    const dataKeys = this.#state.dataKeys.map((k) => {
      if (k.version >= min || k.key === null) return k
      destroyed.push(k.version)
      return { ...k, key: null, destroyedAt: now }
    })
    if (destroyed.length > 0) await this.#commit({ ...this.#state, dataKeys })
    return destroyed
  }

  /** A named secret other components keep in the ring (libp2p identity key, Ethereum key, ...). */
  getSecret(name: string): Uint8Array | undefined {
    const value = Object.hasOwn(this.#state.secrets, name) ? this.#state.secrets[name] : undefined
    return value === undefined ? undefined : new Uint8Array(Buffer.from(value, 'base64'))
  }

  /** Stores a named secret (atomic write of the ring file). */
  async setSecret(name: string, value: Uint8Array): Promise<void> {
    if (typeof name !== 'string' || name.length === 0)
      throw new KeyRingParameterError('secret name must be non-empty')
    const secrets = { ...this.#state.secrets, [name]: Buffer.from(value).toString('base64') }
    await this.#commit({ ...this.#state, secrets })
  }

  /** Re-encrypts the ring under a new password and/or more PBKDF2 iterations, with a new salt. */
  async changePassword(password: string, opts: { iterations?: number } = {}): Promise<void> {
    const iterations = checkIterations(opts.iterations ?? this.#keys.kdf.iterations)
    const keys = await deriveKeys(password, newKdfParams(iterations))
    this.#write(keys, this.#state)
    this.#forget()
    this.#keys = keys
  }

  /** Forgets the derived keys held in memory; the ring is unusable afterwards. */
  close(): void {
    this.#forget()
  }

  #forget(): void {
    this.#keys.cipherKey.fill(0)
    this.#keys.checkKey.fill(0)
  }

  async #commit(next: KeyRingState): Promise<void> {
    this.#write(this.#keys, next)
    this.#state = next
    this.#parts.clear()
  }

  #write(keys: DerivedKeys, state: KeyRingState): void {
    atomicWriteFileSync(this.path, sealKeyRingFile(keys, state), {
      mode: 0o600,
      beforeRename: this.#hooks.beforeRename
    })
  }
}
