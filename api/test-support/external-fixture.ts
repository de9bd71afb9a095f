import { createExternalApp } from '../external-app.ts'
import { createHarness, type Harness } from './fakes.ts'

export const ETH = '0x742d35Cc6634C0532925a3b844Bc9e7595f1dE01'
/** SHA-256 of `hello`. */
export const HELLO_HASH = '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824'

export type ExternalApp = ReturnType<typeof createExternalApp>

export interface ExternalFixture {
  readonly h: Harness
  readonly app: ExternalApp
  /** Scopes share and read. */
  readonly key: string
  /** Scope read only. */
  readonly readKey: string
}

/**
 * The external app over a fresh fake harness, with limits loose enough not to interfere, and two
 * keys: a writer and a reader. The caller closes `h`.
 */
export function externalFixture(): ExternalFixture {
  const h = createHarness()
  const app = createExternalApp(h.ports, {
    rateLimit: { perSecond: 1000, burst: 1000 },
    trustedProxies: [],
    bodyLimitBytes: 1_200_000
  })
  const key = h.ports.apiKeys.create({ name: 'writer', scopes: ['share', 'read'] }).key
  const readKey = h.ports.apiKeys.create({ name: 'reader', scopes: ['read'] }).key
  return { h, app, key, readKey }
}
