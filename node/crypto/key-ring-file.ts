import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  hkdfSync,
  pbkdf2,
  randomBytes,
  timingSafeEqual
} from 'node:crypto'
import { readFileSync } from 'node:fs'
import { fromStandardBase64 } from './base64.ts'
import { MIN_PBKDF2_ITERATIONS } from './constants.ts'
import {
  KeyRingCorruptError,
  KeyRingNotFoundError,
  KeyRingParameterError,
  KeyRingWrongPasswordError
} from './errors.ts'

/**
 * The key ring file (JSON, format "dmn-keyring" v1):
 *   kdf            PBKDF2-HMAC-SHA256 parameters (iterations, 16-byte salt); raised by a re-key
 *   passwordCheck  HMAC-SHA256 under a key derived from the password: tells a wrong password apart
 *                  from a damaged file without trying to decrypt
 *   cipher         AES-256-GCM of the secret state (JSON), with format and kdf as associated data
 *   checksum       SHA-256 of the other fields: damage is reported as damage, not as a bad password
 * Two keys come from the PBKDF2 output through HKDF-SHA256, one for the check and one for the cipher,
 * so the check value reveals nothing usable against the cipher key.
 */

export const KEYRING_FORMAT = 'dmn-keyring'
export const KEYRING_FORMAT_VERSION = 1

export interface KdfParams {
  readonly algorithm: 'PBKDF2-HMAC-SHA256'
  readonly iterations: number
  /** Standard base64 of 16 random bytes. */
  readonly salt: string
}

interface KeyRingFileJson {
  format: string
  formatVersion: number
  kdf: KdfParams
  passwordCheck: string
  cipher: { algorithm: 'AES-256-GCM'; nonce: string; ciphertext: string; tag: string }
  checksum: string
}

/** The two keys derived from the master password for one salt. */
export interface DerivedKeys {
  readonly kdf: KdfParams
  readonly cipherKey: Buffer
  readonly checkKey: Buffer
}

const CHECK_LABEL = 'dmn-keyring password check v1'

function checksumOf(f: Omit<KeyRingFileJson, 'checksum'>): string {
  const canonical = JSON.stringify([f.format, f.formatVersion, f.kdf, f.passwordCheck, f.cipher])
  return createHash('sha256').update(canonical).digest('hex')
}

function aadOf(kdf: KdfParams): Buffer {
  return Buffer.from(JSON.stringify([KEYRING_FORMAT, KEYRING_FORMAT_VERSION, kdf]))
}

/** PBKDF2-HMAC-SHA256 (on the libuv thread pool) then HKDF into the cipher and check keys. */
export function deriveKeys(password: string, kdf: KdfParams): Promise<DerivedKeys> {
  const salt = fromStandardBase64(kdf.salt)
  if (!salt) return Promise.reject(new KeyRingCorruptError('key ring salt is not base64'))
  return new Promise((resolve, reject) => {
    pbkdf2(Buffer.from(password, 'utf8'), salt, kdf.iterations, 32, 'sha256', (err, master) => {
      if (err) return reject(err)
      const cipherKey = Buffer.from(hkdfSync('sha256', master, salt, 'dmn-keyring cipher v1', 32))
      const checkKey = Buffer.from(hkdfSync('sha256', master, salt, 'dmn-keyring check v1', 32))
      master.fill(0)
      resolve({ kdf, cipherKey, checkKey })
    })
  })
}

export function newKdfParams(iterations: number): KdfParams {
  return { algorithm: 'PBKDF2-HMAC-SHA256', iterations, salt: randomBytes(16).toString('base64') }
}

/** Serialises the secret state under the derived keys, with a fresh GCM nonce every time. */
export function sealKeyRingFile(keys: DerivedKeys, state: unknown): string {
  const nonce = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', keys.cipherKey, nonce)
  cipher.setAAD(aadOf(keys.kdf))
  const plain = Buffer.from(JSON.stringify(state), 'utf8')
  const ciphertext = Buffer.concat([cipher.update(plain), cipher.final()])
  plain.fill(0)
  const body = {
    format: KEYRING_FORMAT,
    formatVersion: KEYRING_FORMAT_VERSION,
    kdf: keys.kdf,
    passwordCheck: createHmac('sha256', keys.checkKey).update(CHECK_LABEL).digest('hex'),
    cipher: {
      algorithm: 'AES-256-GCM' as const,
      nonce: nonce.toString('base64'),
      ciphertext: ciphertext.toString('base64'),
      tag: cipher.getAuthTag().toString('base64')
    }
  }
  return `${JSON.stringify({ ...body, checksum: checksumOf(body) }, null, 2)}\n`
}

function isString(v: unknown): v is string {
  return typeof v === 'string'
}

/** Reads and structurally checks the file; KeyRingCorruptError for anything that is not an intact ring. */
export function readKeyRingFile(path: string): KeyRingFileJson {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new KeyRingNotFoundError(`no key ring at ${path}`, { cause: err })
    }
    throw new KeyRingCorruptError(`cannot read key ring ${path}`, { cause: err })
  }
  let f: KeyRingFileJson
  try {
    f = JSON.parse(text) as KeyRingFileJson
  } catch (err) {
    throw new KeyRingCorruptError(`key ring ${path} is not valid JSON (damaged file)`, { cause: err })
  }
  const ok =
    typeof f === 'object' &&
    f !== null &&
    f.format === KEYRING_FORMAT &&
    f.formatVersion === KEYRING_FORMAT_VERSION &&
    typeof f.kdf === 'object' &&
    f.kdf?.algorithm === 'PBKDF2-HMAC-SHA256' &&
    Number.isSafeInteger(f.kdf.iterations) &&
    f.kdf.iterations > 0 &&
    isString(f.kdf.salt) &&
    isString(f.passwordCheck) &&
    typeof f.cipher === 'object' &&
    f.cipher?.algorithm === 'AES-256-GCM' &&
    [f.cipher.nonce, f.cipher.ciphertext, f.cipher.tag].every(isString) &&
    isString(f.checksum)
  if (!ok) throw new KeyRingCorruptError(`${path} is not a dmn key ring file (format ${KEYRING_FORMAT} v1)`)
  if (checksumOf(f) !== f.checksum) {
    throw new KeyRingCorruptError(`key ring ${path} is damaged: its checksum does not match its content`)
  }
  return f
}

/** Checks the password against the file and decrypts the state. */
export function unsealKeyRingFile(f: KeyRingFileJson, keys: DerivedKeys): unknown {
  const expected = createHmac('sha256', keys.checkKey).update(CHECK_LABEL).digest()
  const given = Buffer.from(f.passwordCheck, 'hex')
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new KeyRingWrongPasswordError('the master password does not unlock this key ring')
  }
  const nonce = fromStandardBase64(f.cipher.nonce)
  const ciphertext = fromStandardBase64(f.cipher.ciphertext)
  const tag = fromStandardBase64(f.cipher.tag)
  if (!nonce || !ciphertext || !tag || tag.length !== 16)
    throw new KeyRingCorruptError('key ring cipher fields are damaged')
  let plain: Buffer
  try {
    const decipher = createDecipheriv('aes-256-gcm', keys.cipherKey, nonce)
    decipher.setAAD(aadOf(f.kdf))
    decipher.setAuthTag(tag)
    plain = Buffer.concat([decipher.update(ciphertext), decipher.final()])
  } catch (err) {
    throw new KeyRingCorruptError('key ring content does not authenticate (damaged file)', { cause: err })
  }
  try {
    return JSON.parse(plain.toString('utf8'))
  } catch (err) {
    throw new KeyRingCorruptError('key ring content is not valid JSON', { cause: err })
  } finally {
    plain.fill(0)
  }
}

/** Iterations for a new KDF: an integer at or above the floor. */
export function checkIterations(iterations: number): number {
  if (!Number.isSafeInteger(iterations) || iterations < MIN_PBKDF2_ITERATIONS) {
    throw new KeyRingParameterError(`PBKDF2 iterations must be an integer >= ${MIN_PBKDF2_ITERATIONS}`)
  }
  return iterations
}
