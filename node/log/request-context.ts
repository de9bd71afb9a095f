import { AsyncLocalStorage } from 'node:async_hooks'

/**
 * The HTTP request a piece of work runs for, carried across awaits (AsyncLocalStorage), so the
 * share path can name the request that accepted a share without every layer passing the id along.
 * Timers and loops started during a request inherit its context too (the delivery worker kicked by
 * an acceptance), so it is read only where the work is the request's own: the share's acceptance
 * (node/log-bridge.ts), never as a tag on every log line.
 */

interface RequestContext {
  readonly requestId: string
}

const storage = new AsyncLocalStorage<RequestContext>()

/** Runs `fn` (and everything it starts) as part of the request `requestId`. */
export function withRequestId<T>(requestId: string, fn: () => T): T {
  return storage.run({ requestId }, fn)
}

/** The id of the request the current work runs for; undefined outside any request. */
export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId
}
