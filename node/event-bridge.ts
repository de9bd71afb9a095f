/**
 * Bridges what the node's services emit (p2p share and peer events, audit confirmations, security
 * log entries) to the live event bus behind `/events`, under the names its clients know.
 */
import type { ConfirmedEntry } from './audit/index.ts'
import type { Startable } from './core/lifecycle.ts'
import type { EventBus, SecurityLogWriter } from './core/ports.ts'
import type { P2pEvents } from './p2p/index.ts'

const P2P_EVENTS: readonly [keyof P2pEvents, string][] = [
  ['share:queued', 'share.accepted'],
  ['share:resolved', 'share.resolved'],
  ['share:delivered', 'share.delivered'],
  ['share:attempt-failed', 'share.delivery_failed'],
  ['share:received', 'share.received'],
  ['peer:verified', 'peer.verified'],
  ['refused', 'security.refused']
]

/** Something that emits named events (node:events style). */
interface Emitter<Events> {
  on<K extends keyof Events & string>(event: K, listener: (...args: never[]) => void): unknown
  off<K extends keyof Events & string>(event: K, listener: (...args: never[]) => void): unknown
}

export interface EventBridgeComponents {
  readonly events: EventBus
  readonly p2p: Emitter<P2pEvents>
  readonly audit: Emitter<{ 'audit:confirmed': [ConfirmedEntry] }>
}

/** A startable that subscribes at start and unsubscribes at stop. */
export function createEventBridge({ events, p2p, audit }: EventBridgeComponents): Startable {
  const unbridge: (() => void)[] = []
  return {
    name: 'event-bridge',
    start() {
      for (const [from, to] of P2P_EVENTS) {
        const listener = (payload: unknown) => {
          events.publish({ type: to, at: Date.now(), data: summarize(payload) })
        }
        p2p.on(from, listener)
        unbridge.push(() => p2p.off(from, listener))
      }
      const confirmed = (entry: ConfirmedEntry) => {
        events.publish({
          type: 'audit.confirmed',
          at: Date.now(),
          data: {
            kind: entry.kind,
            share_id: entry.shareId,
            data_hash: entry.dataHash,
            tx_hash: entry.txHash
          }
        })
      }
      audit.on('audit:confirmed', confirmed)
      unbridge.push(() => audit.off('audit:confirmed', confirmed))
    },
    stop() {
      for (const off of unbridge.splice(0)) off()
    }
  }
}

/** A security log that also announces each entry on the event bus as `security.<kind>`. */
export function announcingSecurityLog(log: SecurityLogWriter, events: EventBus): SecurityLogWriter {
  return {
    append(kind, detail) {
      log.append(kind, detail)
      events.publish({ type: `security.${kind}`, at: Date.now(), data: detail })
    }
  }
}

/** Event payloads without bulky or sensitive parts (receipts' signatures, envelopes). */
function summarize(payload: unknown): Record<string, unknown> {
  const p = (payload ?? {}) as Record<string, unknown>
  const share = p['share'] as Record<string, unknown> | undefined
  const out: Record<string, unknown> = {}
  if (share) {
    for (const key of [
      'shareId',
      'direction',
      'dataHash',
      'sender',
      'recipient',
      'tier',
      'state',
      'attempts'
    ]) {
      out[key] = share[key]
    }
  }
  for (const key of ['peerId', 'trust', 'protocol', 'error', 'final', 'via']) {
    if (p[key] !== undefined) out[key] = p[key]
  }
  return out
}
