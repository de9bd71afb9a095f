import { existsSync, mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { atomicWriteFileSync } from './atomic-file.ts'
import {
  DEFAULT_ENCRYPTION_KEY_BITS,
  DEFAULT_SIGNING_KEY_BITS,
  MIN_PBKDF2_ITERATIONS,
  type RsaKeySize
} from './constants.ts'
import { KeyRingExistsError, KeyRingParameterError } from './errors.ts'
import { generateFernetKey } from './fernet.ts'
import { KeyRing, type KeyRingHooks } from './key-ring.ts'
import {
  checkIterations,
  deriveKeys,
  newKdfParams,
  readKeyRingFile,
  sealKeyRingFile,
  unsealKeyRingFile
} from './key-ring-file.ts'
import { checkState, type KeyRingState } from './key-ring-state.ts'
import { generateRsaKeyPair, type RsaKeyPairPem } from './rsa.ts'

/** Creating and unlocking key ring files. */

export interface CreateKeyRingOptions {
  readonly iterations?: number
  readonly signingKeyBits?: RsaKeySize
  readonly encryptionKeyBits?: RsaKeySize
  /** Identity keys to store instead of generating new ones (key import, tests). */
  readonly identity?: { signing: RsaKeyPairPem; encryption: RsaKeyPairPem }
  readonly hooks?: KeyRingHooks
}

export interface OpenKeyRingOptions {
  readonly hooks?: KeyRingHooks
}

/** Creates a key ring file with data key version 1 and fresh identity keys; refuses to overwrite. */
export async function createKeyRing(
  path: string,
  password: string,
  opts: CreateKeyRingOptions = {}
): Promise<KeyRing> {
  if (typeof password !== 'string' || password.length === 0)
    throw new KeyRingParameterError('a master password is required')
  const iterations = checkIterations(opts.iterations ?? MIN_PBKDF2_ITERATIONS)
  if (existsSync(path)) throw new KeyRingExistsError(`a key ring already exists at ${path}`)
  const [identity, keys] = await Promise.all([
    opts.identity ??
      Promise.all([
        generateRsaKeyPair(opts.signingKeyBits ?? DEFAULT_SIGNING_KEY_BITS),
        generateRsaKeyPair(opts.encryptionKeyBits ?? DEFAULT_ENCRYPTION_KEY_BITS)
      ]).then(([signing, encryption]) => ({ signing, encryption })),
    deriveKeys(password, newKdfParams(iterations))
  ])
  const now = new Date().toISOString()
  const state: KeyRingState = {
    createdAt: now,
    dataKeys: [{ version: 1, key: generateFernetKey(), createdAt: now }],
    primaryVersion: 1,
    minimumDecryptionVersion: 1,
    identity,
    secrets: {}
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  const ring = new KeyRing(path, keys, state, opts.hooks)
  atomicWriteFileSync(path, sealKeyRingFile(keys, state), {
    mode: 0o600,
    beforeRename: opts.hooks?.beforeRename
  })
  return ring
}

/**
 * Unlocks an existing key ring. KeyRingNotFoundError if there is none, KeyRingWrongPasswordError if
 * the password is wrong, KeyRingCorruptError if the file is damaged; the file is never modified.
 */
export async function openKeyRing(
  path: string,
  password: string,
  opts: OpenKeyRingOptions = {}
): Promise<KeyRing> {
  const file = readKeyRingFile(path)
  const keys = await deriveKeys(password, file.kdf)
  const state = checkState(unsealKeyRingFile(file, keys))
  return new KeyRing(path, keys, state, opts.hooks)
}
