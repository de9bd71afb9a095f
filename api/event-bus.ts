import type { EventSignal } from '../node/core/ports.ts'

/**
 * The in-process wake-up signal of the event log. A listener that throws is isolated from the
 * notifier and from other listeners: live readers must never break the work that appends events.
 */
export function createEventSignal(onListenerError?: (err: unknown) => void): EventSignal {
  const listeners = new Set<() => void>()
  return {
    notify() {
      for (const listener of listeners) {
        try {
          listener()
        } catch (err) {
          onListenerError?.(err)
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
