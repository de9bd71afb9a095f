import { AsyncLocalStorage } from 'node:async_hooks'

/**
 * The HTTP request a piece of work runs for, carried across awaits (AsyncLocalStorage), so a log
 * line written deep in the share path names the request that caused it without every layer
 * passing the id along.
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
