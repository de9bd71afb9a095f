import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type Db, openDatabase } from './database.ts'
import { migrate } from './migrations.ts'
import { WebhookRepository, webhookView } from './webhooks.ts'

let dir: string
let db: Db
let now = 1_000_000
let repo: WebhookRepository
const reopen = () => {
  db.close()
  db = openDatabase(join(dir, 'node.db'))
  repo = new WebhookRepository(db, { now: () => now })
}
const create = (id: string, cursor = 7) =>
  repo.create({ id, url: 'http://127.0.0.1:9/hook', eventTypes: ['share.'], secret: 'whsec_AAAA', cursor })

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dmn-webhooks-'))
  db = openDatabase(join(dir, 'node.db'))
  migrate(db)
  repo = new WebhookRepository(db, { now: () => now })
})
afterEach(() => {
  if (db.open) db.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('webhook repository', () => {
  it('creates an active subscription at its cursor and keeps it across a reopen', () => {
    create('wh_1')
    reopen()
    expect(repo.get('wh_1')).toMatchObject({
      url: 'http://127.0.0.1:9/hook',
      eventTypes: ['share.'],
      secret: 'whsec_AAAA',
      state: 'active',
      cursor: 7,
      attempts: 0,
      failingEventId: null
    })
    expect(repo.active().map((r) => r.id)).toEqual(['wh_1'])
  })

  it('keeps the retries of a failing event across a reopen and forgets them after a 2xx', () => {
    create('wh_1')
    repo.retryLater('wh_1', {
      eventId: 8,
      failingSince: 900,
      attempts: 2,
      nextAttemptAt: 2_000_000,
      error: 'HTTP 500'
    })
    reopen()
    expect(repo.get('wh_1')).toMatchObject({
      cursor: 7,
      failingEventId: 8,
      failingSince: 900,
      attempts: 2,
      nextAttemptAt: 2_000_000,
      lastError: 'HTTP 500'
    })
    now = 1_500_000
    expect(repo.delivered('wh_1', 8)).toBe(true)
    expect(repo.get('wh_1')).toMatchObject({
      cursor: 8,
      failingEventId: null,
      failingSince: null,
      attempts: 0,
      nextAttemptAt: null,
      lastError: null,
      lastDeliveredAt: 1_500_000
    })
  })

  it('never moves the cursor back', () => {
    create('wh_1')
    repo.delivered('wh_1', 9)
    expect(repo.delivered('wh_1', 8)).toBe(false)
    expect(repo.get('wh_1')?.cursor).toBe(9)
  })

  it('fails a subscription with the event it stopped at, and resume gives a fresh window from there', () => {
    create('wh_1')
    repo.fail('wh_1', { eventId: 8, failingSince: 900, attempts: 12, error: 'ECONNREFUSED' })
    const failed = repo.get('wh_1')
    expect(failed).toMatchObject({ state: 'failed', failingEventId: 8, lastError: 'ECONNREFUSED', cursor: 7 })
    expect(webhookView(failed!)).toMatchObject({
      failingSince: new Date(900).toISOString(),
      lastError: 'ECONNREFUSED'
    })
    expect(repo.active()).toEqual([])
    repo.resume('wh_1')
    expect(repo.get('wh_1')).toMatchObject({ state: 'active', attempts: 0, failingSince: null, cursor: 7 })
  })

  it('records no retry or failure for a subscription paused meanwhile', () => {
    create('wh_1')
    repo.pause('wh_1')
    expect(
      repo.retryLater('wh_1', { eventId: 8, failingSince: 1, attempts: 1, nextAttemptAt: 2, error: 'x' })
    ).toBe(false)
    expect(repo.fail('wh_1', { eventId: 8, failingSince: 1, attempts: 1, error: 'x' })).toBe(false)
    expect(repo.get('wh_1')).toMatchObject({ state: 'paused', attempts: 0, lastError: null })
  })

  it('deletes', () => {
    create('wh_1')
    expect(repo.delete('wh_1')).toBe(true)
    expect(repo.delete('wh_1')).toBe(false)
    expect(repo.get('wh_1')).toBeUndefined()
  })

  it('shows no secret in the view', () => {
    expect(JSON.stringify(webhookView(create('wh_1')))).not.toContain('whsec_')
  })
})
