import { KeyRingCorruptError } from './errors.ts'
import type { RsaKeyPairPem } from './rsa.ts'

/** The secret content of a key ring file, as stored inside its AES-256-GCM cipher. */

export interface DataKeyEntry {
  readonly version: number
  /** The Fernet key; null once destroyed. */
  readonly key: string | null
  readonly createdAt: string
  readonly destroyedAt?: string
  /** Where an imported key came from, e.g. `datamgmt:3` (DataMgmt Node key file, its version 3). */
  readonly origin?: string
}

export interface KeyRingState {
  readonly createdAt: string
  readonly dataKeys: readonly DataKeyEntry[]
  readonly primaryVersion: number
  readonly minimumDecryptionVersion: number
  readonly identity: { readonly signing: RsaKeyPairPem; readonly encryption: RsaKeyPairPem }
  /** Named secrets, standard base64. */
  readonly secrets: Readonly<Record<string, string>>
}

function isPair(v: unknown): v is RsaKeyPairPem {
  const p = v as RsaKeyPairPem
  return (
    typeof p === 'object' &&
    p !== null &&
    typeof p.privateKeyPem === 'string' &&
    typeof p.publicKeyPem === 'string'
  )
}

/** Checks the decrypted state's shape; a ring that decrypts but does not fit is damaged, not usable. */
export function checkState(v: unknown): KeyRingState {
  const s = v as KeyRingState
  const ok =
    typeof s === 'object' &&
    s !== null &&
    typeof s.createdAt === 'string' &&
    Array.isArray(s.dataKeys) &&
    s.dataKeys.length > 0 &&
    s.dataKeys.every(
      (k, i) =>
        k.version === i + 1 &&
        (k.key === null || typeof k.key === 'string') &&
        typeof k.createdAt === 'string'
    ) &&
    Number.isSafeInteger(s.primaryVersion) &&
    s.dataKeys.some((k) => k.version === s.primaryVersion && k.key !== null) &&
    Number.isSafeInteger(s.minimumDecryptionVersion) &&
    s.minimumDecryptionVersion >= 1 &&
    s.minimumDecryptionVersion <= s.primaryVersion &&
    typeof s.identity === 'object' &&
    isPair(s.identity?.signing) &&
    isPair(s.identity?.encryption) &&
    typeof s.secrets === 'object' &&
    s.secrets !== null &&
    Object.values(s.secrets).every((x) => typeof x === 'string')
  if (!ok) throw new KeyRingCorruptError('key ring content does not have the expected structure')
  return s
}
