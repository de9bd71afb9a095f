import type { HttpBindings } from '@hono/node-server'
import type { IdempotentAnswer } from '../node/core/idempotency.ts'
import type { ApiKeyInfo } from '../node/core/ports.ts'

/** What `authenticate` found for the request; routes decide with `requireScope`. */
export type AuthState =
  | { readonly kind: 'key'; readonly key: ApiKeyInfo }
  | {
      readonly kind: 'none'
      readonly failure: 'missing' | 'invalid' | 'expired' | 'revoked'
      readonly keyId: string | null
    }

/** Hono environment of both apps: node-server bindings and typed context variables. */
export interface ApiEnv {
  Bindings: Partial<HttpBindings>
  Variables: {
    /** The client's address after trusted-proxy resolution. */
    clientAddress: string
    auth: AuthState
    /** The request's id, echoed as `X-Request-Id` and in every log line written for it. */
    requestId: string
    /**
     * Set by the idempotency middleware on a request that runs under a fresh `Idempotency-Key`:
     * keeps `answer` for the key now, on the node's database, synchronously. A route that writes
     * its resource in a transaction calls it inside that transaction, so the resource and its kept
     * answer commit together, and then answers exactly `answer`; the middleware writes nothing after.
     */
    keepAnswer: ((answer: IdempotentAnswer) => void) | undefined
  }
}
