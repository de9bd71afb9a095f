import { EventEmitter } from 'node:events'
import { afterEach, describe, expect, it } from 'vitest'
import { createEventSignal } from '../api/event-bus.ts'
import { createEventBridge } from './event-bridge.ts'
import type { P2pEvents } from './p2p/index.ts'
import { EventLogRepository } from './store/event-log.ts'
import { type AuditTestDb, auditTestDb } from './store/test-support/audit-db.ts'

let t: AuditTestDb
afterEach(() => t?.remove())

describe('event bridge', () => {
  it('logs a refused peer as peer.refused and wakes readers on every reported change', async () => {
    t = auditTestDb()
    const log = new EventLogRepository(t.db)
    const signal = createEventSignal()
    let woken = 0
    signal.subscribe(() => {
      woken++
    })
    const p2p = new EventEmitter<P2pEvents>()
    const audit = new EventEmitter<{ 'audit:confirmed': [unknown] }>()
    const bridge = createEventBridge({ signal, eventLog: () => log, p2p, audit })
    await bridge.start()
    p2p.emit('share:queued', { share: {} as never })
    audit.emit('audit:confirmed', {})
    p2p.emit('refused', {
      peerId: 'P',
      protocol: '/dmn/share/1.0.0',
      error: 'PeerDeniedError',
      message: 'denied'
    })
    expect(woken).toBe(3)
    expect(log.after(0, 10)).toEqual([
      {
        id: 1,
        type: 'peer.refused',
        at: expect.any(Number),
        data: { peer_id: 'P', protocol: '/dmn/share/1.0.0', error: 'PeerDeniedError', message: 'denied' }
      }
    ])
    await bridge.stop()
    p2p.emit('share:queued', { share: {} as never })
    expect(woken).toBe(3)
  })
})
