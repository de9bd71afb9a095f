import type { EventBus, NodeEvent } from '../node/core/ports.ts'

/**
 * An in-process event bus. A listener that throws is isolated from the publisher and from other
 * listeners: live observers must never break the work that emits events.
 */
export function createEventBus(onListenerError?: (err: unknown, event: NodeEvent) => void): EventBus {
  const listeners = new Set<(event: NodeEvent) => void>()
  return {
    publish(event) {
      for (const listener of listeners) {
        try {
          listener(event)
        } catch (err) {
          onListenerError?.(err, event)
        }
      }
    },
    subscribe(listener) {
      listeners.add(listener)
      return () => {
        listeners.delete(listener)
      }
    }
  }
}
