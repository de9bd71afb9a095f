/**
 * The hash-chained security log (`security_log`). Each row commits to the one before it:
 *
 *   hash = SHA-256( JSON.stringify([seq, at, kind, detail, prev_hash]) )   (hex)
 *
 * where `detail` is the canonical JSON text stored in the row (object keys sorted, no whitespace)
 * and the first row's `prev_hash` is 64 zeros. The head (last row's seq and hash) is anchored on
 * chain periodically by the publisher; verification recomputes every hash, checks every link and
 * every anchor, and names the first bad row.
 */
import { createHash } from 'node:crypto'
import type { Db } from '../store/database.ts'
import { LOG_GENESIS_HASH } from './constants.ts'
import { InvalidAuditEventError } from './errors.ts'

/** Kinds of security events; others are refused so the log stays queryable. */
export const SECURITY_EVENT_KINDS = [
  'auth.success',
  'auth.failure',
  'rate_limit.hit',
  'request.refused',
  'key.rotated',
  'key.rewrapped',
  'api_key.created',
  'api_key.revoked',
  'config.changed',
  'chain.deployed',
  'node.started',
  'node.stopped'
] as const
export type SecurityEventKind = (typeof SECURITY_EVENT_KINDS)[number]

const SECRET_KEY = /pass(word)?|secret|private|token|^key$|apikey|api_key$/i

/** Canonical JSON: sorted keys, no whitespace; values under secret-looking keys are redacted. */
export function canonicalDetail(value: unknown): string {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk)
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {}
      for (const k of Object.keys(v).sort()) {
        out[k] = SECRET_KEY.test(k) ? '[redacted]' : walk((v as Record<string, unknown>)[k])
      }
      return out
    }
    if (typeof v === 'bigint') return v.toString()
    return v
  }
  return JSON.stringify(walk(value ?? {}))
}

export function rowHash(seq: number, at: string, kind: string, detail: string, prevHash: string): string {
  return createHash('sha256')
    .update(JSON.stringify([seq, at, kind, detail, prevHash]))
    .digest('hex')
}

export interface SecurityLogRow {
  readonly seq: number
  readonly at: string
  readonly kind: string
  readonly detail: string
  readonly prev_hash: string
  readonly hash: string
}

export interface LogVerification {
  readonly ok: boolean
  readonly rows: number
  readonly head: { readonly seq: number; readonly hash: string } | null
  /** The first row that does not check out, and why. */
  readonly firstBad: { readonly seq: number; readonly reason: string } | null
}

export class SecurityLog {
  readonly #db: Db
  readonly #onAppend: (() => void) | undefined

  constructor(db: Db, opts: { onAppend?: () => void } = {}) {
    this.#db = db
    this.#onAppend = opts.onAppend
  }

  /** Appends one event (synchronous, safe inside a caller's transaction); returns its row. */
  append(kind: SecurityEventKind, detail: Record<string, unknown> = {}): SecurityLogRow {
    if (!(SECURITY_EVENT_KINDS as readonly string[]).includes(kind)) {
      throw new InvalidAuditEventError(`unknown security event kind ${String(kind)}`)
    }
    const row = this.#db.transaction(() => {
      const last = this.#db.prepare('SELECT seq, hash FROM security_log ORDER BY seq DESC LIMIT 1').get() as
        | { seq: number; hash: string }
        | undefined
      const seq = (last?.seq ?? 0) + 1
      const at = new Date().toISOString()
      const text = canonicalDetail(detail)
      const prev = last?.hash ?? LOG_GENESIS_HASH
      const hash = rowHash(seq, at, kind, text, prev)
      this.#db
        .prepare(
          'INSERT INTO security_log (seq, at, kind, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?)'
        )
        .run(seq, at, kind, text, prev, hash)
      return { seq, at, kind, detail: text, prev_hash: prev, hash }
    })()
    this.#onAppend?.()
    return row
  }

  /** Rows in order, optionally after `afterSeq`. */
  list(opts: { afterSeq?: number; limit?: number; kind?: string } = {}): SecurityLogRow[] {
    return this.#db
      .prepare(`SELECT * FROM security_log WHERE seq > ? AND (? IS NULL OR kind = ?) ORDER BY seq LIMIT ?`)
      .all(
        opts.afterSeq ?? 0,
        opts.kind ?? null,
        opts.kind ?? null,
        Math.min(opts.limit ?? 100, 1000)
      ) as SecurityLogRow[]
  }

  /** Recomputes the chain of hashes; the first row whose content, hash or link is wrong is named. */
  verifyChain(): LogVerification {
    let prev = LOG_GENESIS_HASH
    let expectedSeq = 1
    let rows = 0
    let head: LogVerification['head'] = null
    for (const r of this.#db
      .prepare('SELECT * FROM security_log ORDER BY seq')
      .iterate() as IterableIterator<SecurityLogRow>) {
      rows += 1
      const bad = (reason: string): LogVerification => ({
        ok: false,
        rows,
        head,
        firstBad: { seq: r.seq, reason }
      })
      if (r.seq !== expectedSeq) return { ...bad(`expected row ${expectedSeq} here: rows are missing`) }
      if (r.prev_hash !== prev) return bad('prev_hash does not match the previous row')
      if (rowHash(r.seq, r.at, r.kind, r.detail, r.prev_hash) !== r.hash)
        return bad('content does not match its hash')
      prev = r.hash
      expectedSeq += 1
      head = { seq: r.seq, hash: r.hash }
    }
    return { ok: true, rows, head, firstBad: null }
  }

  /** Records the current head as an anchor to publish, if it moved since the last one. */
  prepareAnchor(): { seq: number; head: string } | null {
    return this.#db.transaction(() => {
      const head = this.#db.prepare('SELECT seq, hash FROM security_log ORDER BY seq DESC LIMIT 1').get() as
        | { seq: number; hash: string }
        | undefined
      if (!head) return null
      const last = this.#db.prepare('SELECT max(seq) AS seq FROM security_log_anchors').get() as {
        seq: number | null
      }
      if (last.seq !== null && last.seq >= head.seq) return null
      const t = new Date().toISOString()
      this.#db
        .prepare(
          `INSERT INTO security_log_anchors (seq, head, state, created_at, updated_at) VALUES (?, ?, 'pending', ?, ?)`
        )
        .run(head.seq, head.hash, t, t)
      return { seq: head.seq, head: head.hash }
    })()
  }

  /** Confirmed anchors, oldest first. */
  anchors(): { seq: number; head: string; txHash: string; blockNumber: number }[] {
    return (
      this.#db
        .prepare(
          `SELECT seq, head, tx_hash, block_number FROM security_log_anchors WHERE state = 'confirmed' ORDER BY seq`
        )
        .all() as { seq: number; head: string; tx_hash: string; block_number: number }[]
    ).map((a) => ({ seq: a.seq, head: a.head, txHash: a.tx_hash, blockNumber: a.block_number }))
  }
}
