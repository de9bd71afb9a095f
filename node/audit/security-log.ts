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
import type { ConfirmedAnchor, SecurityLogRepository, SecurityLogRow } from '../store/security-log.ts'
import { LOG_GENESIS_HASH } from './constants.ts'
import { InvalidAuditEventError } from './errors.ts'

export type { SecurityLogRow } from '../store/security-log.ts'

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
  'chain.reset',
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

export interface LogVerification {
  readonly ok: boolean
  readonly rows: number
  readonly head: { readonly seq: number; readonly hash: string } | null
  /** The first row that does not check out, and why. */
  readonly firstBad: { readonly seq: number; readonly reason: string } | null
}

// One page of rows at most: readers page with `afterSeq`.
const MAX_LIST = 1000

export class SecurityLog {
  readonly #repo: SecurityLogRepository
  readonly #onAppend: (() => void) | undefined

  constructor(repo: SecurityLogRepository, opts: { onAppend?: () => void } = {}) {
    this.#repo = repo
    this.#onAppend = opts.onAppend
  }

  /** Appends one event (synchronous, safe inside a caller's transaction); returns its row. */
  append(kind: SecurityEventKind, detail: Record<string, unknown> = {}): SecurityLogRow {
    if (!(SECURITY_EVENT_KINDS as readonly string[]).includes(kind)) {
      throw new InvalidAuditEventError(`unknown security event kind ${String(kind)}`)
    }
    const row = this.#repo.append((last) => {
      const seq = (last?.seq ?? 0) + 1
      const at = new Date().toISOString()
      const text = canonicalDetail(detail)
      const prev = last?.hash ?? LOG_GENESIS_HASH
      const hash = rowHash(seq, at, kind, text, prev)
      return { seq, at, kind, detail: text, prev_hash: prev, hash }
    })
    this.#onAppend?.()
    return row
  }

  /** Rows in order, optionally after `afterSeq`. */
  list(opts: { afterSeq?: number; limit?: number; kind?: string } = {}): SecurityLogRow[] {
    return this.#repo.list({
      afterSeq: opts.afterSeq ?? 0,
      kind: opts.kind,
      limit: Math.min(opts.limit ?? 100, MAX_LIST)
    })
  }

  /** Recomputes the chain of hashes; the first row whose content, hash or link is wrong is named. */
  verifyChain(): LogVerification {
    let prev = LOG_GENESIS_HASH
    let expectedSeq = 1
    let rows = 0
    let head: LogVerification['head'] = null
    for (const r of this.#repo.rows()) {
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

  /** The stored hash of row `seq` (what an anchor of that row must still match). */
  hashAt(seq: number): string | undefined {
    return this.#repo.hashAt(seq)
  }

  /** Records the current head as an anchor to publish, if it moved since the last one. */
  prepareAnchor(): { seq: number; head: string } | null {
    return this.#repo.recordHeadAnchor()
  }

  /** Confirmed anchors, oldest first. */
  anchors(): ConfirmedAnchor[] {
    return this.#repo.confirmedAnchors()
  }
}
