import { EventEmitter } from 'node:events'
import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import type { AuditEvents } from './audit/index.ts'
import type { StoredShare } from './core/share-ports.ts'
import { createLogBridge } from './log-bridge.ts'
import { createLogger } from './log/logger.ts'
import { withRequestId } from './log/request-context.ts'
import type { P2pEvents } from './p2p/index.ts'
import type { DmnLibp2p } from './p2p/libp2p-node.ts'

function setup() {
  const lines: Record<string, unknown>[] = []
  const destination = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line))
      done()
    }
  })
  const libp2p = Object.assign(new EventTarget(), { getConnections: () => [] }) as unknown as DmnLibp2p
  const p2p = Object.assign(new EventEmitter<P2pEvents>(), { libp2p })
  const audit = new EventEmitter<AuditEvents>()
  const bridge = createLogBridge({ logger: createLogger({ destination }), p2p, audit })
  return { lines, p2p, audit, bridge }
}

const share = (shareId: string) => ({ shareId, recipient: 'R', tier: 'standard', attempts: 3 }) as StoredShare

describe('log bridge', () => {
  it("keeps a share's request id on its failure lines, and forgets it once the share failed for good", async () => {
    const { lines, p2p, bridge } = setup()
    await bridge.start()
    withRequestId('req-1', () => p2p.emit('share:queued', { share: share('s1') }))
    p2p.emit('share:queued', { share: share('s2') })
    p2p.emit('share:attempt-failed', { share: share('s1'), error: 'PeerUnreachableError', final: false })
    p2p.emit('share:attempt-failed', { share: share('s1'), error: 'ShareExpiredError', final: true })
    p2p.emit('share:attempt-failed', { share: share('s1'), error: 'ShareExpiredError', final: true })
    p2p.emit('share:attempt-failed', { share: share('s2'), error: 'ShareExpiredError', final: true })
    expect(lines.map((l) => [l['level'], l['msg'], l['shareId'], l['requestId']])).toEqual([
      ['info', 'share accepted', 's1', 'req-1'],
      ['info', 'share accepted', 's2', undefined],
      ['info', 'share delivery attempt failed; retrying', 's1', 'req-1'],
      ['warn', 'share failed', 's1', 'req-1'],
      ['warn', 'share failed', 's1', undefined],
      ['warn', 'share failed', 's2', undefined]
    ])
    await bridge.stop()
    p2p.emit('share:queued', { share: share('s3') })
    expect(lines).toHaveLength(6)
  })

  it('logs peers connecting and disconnecting, and audit events of shares only', async () => {
    const { lines, p2p, audit, bridge } = setup()
    await bridge.start()
    const peer = { toString: () => 'P1' }
    p2p.libp2p.dispatchEvent(new CustomEvent('peer:connect', { detail: peer }))
    p2p.libp2p.dispatchEvent(new CustomEvent('peer:disconnect', { detail: peer }))
    audit.emit('audit:confirmed', { kind: 'node', shareId: null, dataHash: null, txHash: '0x1' })
    audit.emit('audit:confirmed', { kind: 'share', shareId: 's9', dataHash: 'h', txHash: '0x2' })
    expect(lines.map((l) => [l['msg'], l['peerId'] ?? l['shareId']])).toEqual([
      ['peer connected', 'P1'],
      ['peer disconnected', 'P1'],
      ['share audited', 's9']
    ])
    await bridge.stop()
    p2p.libp2p.dispatchEvent(new CustomEvent('peer:connect', { detail: peer }))
    expect(lines).toHaveLength(3)
  })
})
