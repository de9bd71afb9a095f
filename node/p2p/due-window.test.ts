import { describe, expect, it } from 'vitest'
import type { StoredShare } from '../core/share-ports.ts'
import { DUE_WINDOW_EXTRA, DUE_WINDOW_MAX_AGE_MS } from './constants.ts'
import { DueWindow } from './due-window.ts'

/** A queue of due shares, oldest first, that counts how often it is read. */
function queueOf(count: number, recipientOf: (i: number) => string = () => 'peer-a') {
  const rows = Array.from(
    { length: count },
    (_, i) => ({ shareId: `s${String(i).padStart(4, '0')}`, recipient: recipientOf(i) }) as StoredShare
  )
  const queue = {
    reads: 0,
    rows,
    listDue(_nowMs: number, limit: number): StoredShare[] {
      queue.reads += 1
      return queue.rows.slice(0, limit)
    }
  }
  return queue
}

const none = () => false
const T = 1_000_000

describe('the due window', () => {
  it('serves the rounds after an attempt ends from one read of the queue', () => {
    const queue = queueOf(200)
    const window = new DueWindow(queue)
    const first = window.due(T, 1, none)
    expect(first).toHaveLength(1 + DUE_WINDOW_EXTRA)
    expect(queue.reads).toBe(1)
    // Each round claims its first share: it leaves the window, and the next round needs no query.
    for (let round = 0; round < DUE_WINDOW_EXTRA; round++) {
      const due = window.due(T, 1, none)
      expect(due[0]?.shareId).toBe(`s${String(round).padStart(4, '0')}`)
      window.take(due[0]?.shareId as string)
      queue.rows = queue.rows.filter((s) => s.shareId !== due[0]?.shareId)
    }
    expect(queue.reads).toBe(1)
    // One row left, a round that wants two: read again.
    expect(window.due(T, 1, none)).toHaveLength(1)
    expect(queue.reads).toBe(1)
    window.due(T, 2, none)
    expect(queue.reads).toBe(2)
  })

  it('reads again when invalidated, when old, and never serves a share taken or skipped', () => {
    const queue = queueOf(10)
    const window = new DueWindow(queue)
    window.due(T, 1, none)
    window.take('s0000')
    expect(window.due(T, 1, none).map((s) => s.shareId)).not.toContain('s0000')
    expect(window.due(T, 1, (s) => s.shareId === 's0001')[0]?.shareId).toBe('s0002')
    expect(queue.reads).toBe(1)
    window.invalidate()
    window.due(T, 1, none)
    expect(queue.reads).toBe(2)
    window.due(T + DUE_WINDOW_MAX_AGE_MS + 1, 1, none)
    expect(queue.reads).toBe(3)
  })

  it('does not read an exhausted queue again until invalidated', () => {
    const queue = queueOf(3)
    const window = new DueWindow(queue)
    expect(window.due(T, 5, none)).toHaveLength(3)
    expect(window.due(T, 5, none)).toHaveLength(3)
    expect(queue.reads).toBe(1)
    queue.rows.push({ shareId: 'new', recipient: 'peer-a' } as StoredShare)
    window.invalidate()
    expect(window.due(T, 5, none)).toHaveLength(4)
  })

  it('drops the rows of a paused recipient', () => {
    const queue = queueOf(6, (i) => (i % 2 === 0 ? 'peer-a' : 'peer-b'))
    const window = new DueWindow(queue)
    window.due(T, 1, none)
    window.dropRecipient('peer-a')
    expect(window.due(T, 1, none).every((s) => s.recipient === 'peer-b')).toBe(true)
    expect(queue.reads).toBe(1)
  })
})
