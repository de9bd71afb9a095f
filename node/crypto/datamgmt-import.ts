import { pbkdf2 } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { fromStandardBase64, toUrlsafeBase64 } from './base64.ts'
import { DATAMGMT_PBKDF2_ITERATIONS } from './constants.ts'
import {
  DatamgmtKeyFileError,
  DatamgmtWrongPasswordError,
  FernetBadMacError,
  FernetInvalidKeyError
} from './errors.ts'
import { fernetDecrypt, parseFernetKey } from './fernet.ts'

/**
 * Reads DataMgmt Node's `encryption_keys.json` (its services/key_manager.py):
 *   { "salt": base64(16 bytes), "current_version": n, "keys": { "1": base64(Fernet token), ... } }
 * The wrapping Fernet key is urlsafe_b64encode(PBKDF2-HMAC-SHA256(password, salt, 480,000, 32));
 * each token decrypts to a data key, itself a Fernet key string. Note the double encoding: the
 * file stores standard base64 of the (url-safe base64) token text.
 */

export interface DatamgmtKeyFile {
  /** Data keys (Fernet key strings) by version. */
  readonly keys: Map<number, string>
  readonly currentVersion: number
}

function derive(password: string, salt: Uint8Array, signal?: AbortSignal): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    pbkdf2(Buffer.from(password, 'utf8'), salt, DATAMGMT_PBKDF2_ITERATIONS, 32, 'sha256', (err, key) =>
      err ? reject(err) : resolve(key)
    )
  })
}

/** Reads the file and unwraps every key; see `importDatamgmtKeyFile`. */
export async function readDatamgmtKeyFile(
  path: string,
  password: string,
  opts: { signal?: AbortSignal } = {}
): Promise<DatamgmtKeyFile> {
  let json: { salt?: unknown; current_version?: unknown; keys?: unknown }
  try {
    json = JSON.parse(await readFile(path, { encoding: 'utf8', signal: opts.signal }))
  } catch (err) {
    throw new DatamgmtKeyFileError(`cannot read DataMgmt Node key file ${path}: ${(err as Error).message}`, {
      cause: err
    })
  }
  const salt = typeof json?.salt === 'string' ? fromStandardBase64(json.salt) : undefined
  const keys = json?.keys
  if (!salt || salt.length === 0 || typeof keys !== 'object' || keys === null || Array.isArray(keys)) {
    throw new DatamgmtKeyFileError(`${path} is not a DataMgmt Node key file (salt, current_version, keys)`)
  }
  const currentVersion = json.current_version
  if (!Number.isSafeInteger(currentVersion))
    throw new DatamgmtKeyFileError('current_version is not an integer')
  const entries = Object.entries(keys as Record<string, unknown>)
  if (entries.length === 0) throw new DatamgmtKeyFileError('the key file holds no keys')
  const master = await derive(password, salt, opts.signal)
  const wrapping = toUrlsafeBase64(master)
  master.fill(0)
  const out = new Map<number, string>()
  for (const [versionText, value] of entries) {
    const version = Number(versionText)
    if (!/^[1-9]\d*$/.test(versionText) || !Number.isSafeInteger(version)) {
      throw new DatamgmtKeyFileError(`key version "${versionText}" is not a positive integer`)
    }
    const tokenBytes = typeof value === 'string' ? fromStandardBase64(value) : undefined
    if (!tokenBytes) throw new DatamgmtKeyFileError(`key ${versionText} is not base64`)
    let dataKey: string
    try {
      dataKey = Buffer.from(fernetDecrypt(wrapping, Buffer.from(tokenBytes).toString('latin1'))).toString(
        'latin1'
      )
    } catch (err) {
      if (err instanceof FernetBadMacError) {
        throw new DatamgmtWrongPasswordError('the password does not unwrap the DataMgmt Node key file', {
          cause: err
        })
      }
      throw new DatamgmtKeyFileError(`key ${versionText} is not a valid wrapped key`, { cause: err })
    }
    try {
      parseFernetKey(dataKey)
    } catch (err) {
      if (err instanceof FernetInvalidKeyError)
        throw new DatamgmtKeyFileError(`key ${versionText} is not a Fernet key`, { cause: err })
      throw err
    }
    out.set(version, dataKey)
  }
  if (!out.has(currentVersion as number)) {
    throw new DatamgmtKeyFileError(`current_version ${String(currentVersion)} has no key in the file`)
  }
  return { keys: out, currentVersion: currentVersion as number }
}

/** The data keys of a DataMgmt Node key file by version, unwrapped with its master password. */
export async function importDatamgmtKeyFile(path: string, password: string): Promise<Map<number, string>> {
  return (await readDatamgmtKeyFile(path, password)).keys
}
