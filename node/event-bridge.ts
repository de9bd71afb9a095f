/**
 * Connects what the node's services emit to the event log's readers. The log's content comes from
 * the database itself (triggers of migrations/0012_event_log.sql, in the transaction of each state
 * change); this bridge only wakes live readers when a service reports a change, and appends the one
 * event no table change carries: a peer refused by a protocol (`peer.refused`).
 */
import type { Startable } from './core/lifecycle.ts'
import type { EventSignal, SecurityLogWriter } from './core/ports.ts'
import type { P2pEvents } from './p2p/index.ts'

// p2p events whose state change the log holds already: a wake-up for readers, nothing more.
const P2P_CHANGES: readonly (keyof P2pEvents)[] = [
  'share:queued',
  'share:resolved',
  'share:delivered',
  'share:attempt-failed',
  'share:received',
  'peer:verified'
]

/** Something that emits named events (node:events style). */
interface Emitter<Events> {
  on<K extends keyof Events & string>(event: K, listener: (...args: never[]) => void): unknown
  off<K extends keyof Events & string>(event: K, listener: (...args: never[]) => void): unknown
}

/** Appends events that no table change reports. */
export interface EventAppender {
  append(type: string, data: Record<string, unknown>): number
}

export interface EventBridgeComponents {
  readonly signal: EventSignal
  readonly eventLog: () => EventAppender
  readonly p2p: Emitter<P2pEvents>
  readonly audit: Emitter<{ 'audit:confirmed': [unknown] }>
}

/** A startable that subscribes at start and unsubscribes at stop. */
export function createEventBridge({ signal, eventLog, p2p, audit }: EventBridgeComponents): Startable {
  const unbridge: (() => void)[] = []
  const on = <E>(emitter: Emitter<E>, name: keyof E & string, listener: (...args: never[]) => void) => {
    emitter.on(name, listener)
    unbridge.push(() => emitter.off(name, listener))
  }
  return {
    name: 'event-bridge',
    start() {
      const notify = () => signal.notify()
      for (const name of P2P_CHANGES) on(p2p, name, notify)
      on(audit, 'audit:confirmed', notify)
      on(p2p, 'refused', (refusal: P2pEvents['refused'][0]) => {
        eventLog().append('peer.refused', {
          peer_id: refusal.peerId,
          protocol: refusal.protocol,
          error: refusal.error,
          message: refusal.message
        })
        signal.notify()
      })
    },
    stop() {
      for (const off of unbridge.splice(0)) off()
    }
  }
}

/** A security log whose every entry (logged as `security.<kind>` by the database) wakes live readers. */
export function notifyingSecurityLog(log: SecurityLogWriter, signal: EventSignal): SecurityLogWriter {
  return {
    append(kind, detail) {
      log.append(kind, detail)
      signal.notify()
    }
  }
}
