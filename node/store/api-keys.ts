import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import {
  API_KEY_SCOPES,
  type ApiKeyCheck,
  type ApiKeyInfo,
  ApiKeyNotFoundError,
  type ApiKeyRegistry,
  type ApiKeyScope
} from '../core/ports.ts'
import { DmnError } from '../core/errors.ts'
import type { Db } from './database.ts'

/**
 * API keys over the `api_keys` table. A key is `dmn_<id>_<secret>`: the id (64 random bits, hex)
 * finds the row, the secret (256 random bits, base64url) is what proves possession. Only
 * SHA-256 of the whole key is stored: with 256 bits of entropy a slow KDF adds nothing, and a fast
 * hash keeps every authenticated request cheap. The comparison is constant-time, and an unknown id
 * still costs one hash and one comparison so timing does not tell ids apart.
 */

const KEY_PATTERN = /^dmn_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/
// last_used_at is a hint for operators; writing it on every request would turn reads into writes.
const LAST_USED_RESOLUTION_MS = 60_000
const DUMMY_HASH = Buffer.alloc(32)

/** A key request that cannot be honoured: empty name, unknown scope, expiry in the past. */
export class InvalidApiKeyRequestError extends DmnError {
  override name = 'InvalidApiKeyRequestError'
}

interface Row {
  id: string
  key_hash: string
  name: string
  scopes: string
  created_at: string
  expires_at: string | null
  revoked_at: string | null
  last_used_at: string | null
}

export interface ApiKeyStoreInit {
  /** The clock; tests move it to expire keys. */
  readonly now?: () => Date
}

/** Creates the registry over an open, migrated database. */
export function createApiKeyStore(db: Db, init: ApiKeyStoreInit = {}): ApiKeyRegistry {
  const now = init.now ?? (() => new Date())
  const insert = db.prepare(
    'INSERT INTO api_keys (id, key_hash, name, scopes, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)'
  )
  const byId = db.prepare<[string], Row>('SELECT * FROM api_keys WHERE id = ?')
  const all = db.prepare<[], Row>('SELECT * FROM api_keys ORDER BY created_at, id')
  const revoke = db.prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL')
  const touch = db.prepare('UPDATE api_keys SET last_used_at = ? WHERE id = ?')

  return {
    create({ name, scopes, expiresAt }) {
      if (name.trim() === '' || name.length > 100) {
        throw new InvalidApiKeyRequestError('name must be 1 to 100 characters')
      }
      if (scopes.length === 0) throw new InvalidApiKeyRequestError('at least one scope is needed')
      for (const scope of scopes) {
        if (!(API_KEY_SCOPES as readonly string[]).includes(scope)) {
          throw new InvalidApiKeyRequestError(`unknown scope ${scope}; expected ${API_KEY_SCOPES.join(', ')}`)
        }
      }
      const created = now()
      if (expiresAt && expiresAt.getTime() <= created.getTime()) {
        throw new InvalidApiKeyRequestError('expiry must be in the future')
      }
      const id = randomBytes(8).toString('hex')
      const key = `dmn_${id}_${randomBytes(32).toString('base64url')}`
      const unique = [...new Set(scopes)].sort()
      insert.run(
        id,
        sha256Hex(key),
        name.trim(),
        JSON.stringify(unique),
        created.toISOString(),
        expiresAt ? expiresAt.toISOString() : null
      )
      return { key, info: toInfo(byId.get(id) as Row) }
    },

    list() {
      return all.all().map(toInfo)
    },

    revoke(id) {
      const row = byId.get(id)
      if (!row) throw new ApiKeyNotFoundError(id)
      revoke.run(now().toISOString(), id)
      return toInfo(byId.get(id) as Row)
    },

    check(presented): ApiKeyCheck {
      const match = KEY_PATTERN.exec(presented)
      const id = match?.[1]
      const row = id === undefined ? undefined : byId.get(id)
      const expected = row ? Buffer.from(row.key_hash, 'hex') : DUMMY_HASH
      const actual = createHash('sha256').update(presented).digest()
      const equal = expected.length === actual.length && timingSafeEqual(expected, actual)
      if (!row || !equal) return { ok: false, reason: 'invalid', keyId: null }
      const at = now()
      if (row.revoked_at !== null) return { ok: false, reason: 'revoked', keyId: row.id }
      if (row.expires_at !== null && Date.parse(row.expires_at) <= at.getTime()) {
        return { ok: false, reason: 'expired', keyId: row.id }
      }
      if (
        row.last_used_at === null ||
        at.getTime() - Date.parse(row.last_used_at) >= LAST_USED_RESOLUTION_MS
      ) {
        touch.run(at.toISOString(), row.id)
        row.last_used_at = at.toISOString()
      }
      return { ok: true, key: toInfo(row) }
    }
  }
}

function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex')
}

function toInfo(row: Row): ApiKeyInfo {
  return {
    id: row.id,
    name: row.name,
    scopes: JSON.parse(row.scopes) as ApiKeyScope[],
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    lastUsedAt: row.last_used_at
  }
}

/**
 * The registry over a database opened later (the store opens it at its own start): built at the
 * first call, so its statements are still prepared once.
 */
export function openingApiKeyStore(db: () => Db, init: ApiKeyStoreInit = {}): ApiKeyRegistry {
  let registry: ApiKeyRegistry | undefined
  const open = () => {
    registry ??= createApiKeyStore(db(), init)
    return registry
  }
  return {
    create: (input) => open().create(input),
    list: () => open().list(),
    revoke: (id) => open().revoke(id),
    check: (presented) => open().check(presented)
  }
}
