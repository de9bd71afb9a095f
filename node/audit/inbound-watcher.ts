/**
 * Keeps the recipient's index of the chain current (node/audit/inbound-index.ts). While a share
 * received in the last INBOUND_WATCH_MS waits for its receipt anchor, it reads the chain at the
 * publisher's poll interval, so the recipient lists a share within seconds of its sender anchoring
 * it; otherwise at INDEX_SYNC_INTERVAL_MS. A share stored here wakes it at once (`poke`). Each round
 * also asks the senders of shares still pending for their entries (inbound-evidence.ts), which is
 * how a share anchored in a batch, named by no event, comes to be listed.
 */
import type { Logger } from '../log/logger.ts'
import { INBOUND_WATCH_MS, INDEX_SYNC_INTERVAL_MS } from './constants.ts'
import type { SenderEvidence } from './bundle-inbound.ts'
import { ChainUnavailableError } from './errors.ts'
import { askSenders } from './inbound-evidence.ts'
import { type BoundAccounts, type InboundIndexContext, syncInbound } from './inbound-index.ts'

export interface InboundWatcherContext extends InboundIndexContext {
  /** Asks a share's sender for its entry; without it only the chain's events are read. */
  readonly senderEvidence?: SenderEvidence | undefined
}

export interface InboundWatcherInit {
  readonly pollIntervalMs: number
  readonly maxBackoffMs: number
}

export class InboundWatcher {
  readonly #ctx: InboundWatcherContext
  // When each pending share's sender was last asked, so each is asked at most once per interval.
  readonly #asked = new Map<string, number>()
  readonly #init: InboundWatcherInit
  readonly #logger: Logger
  #abort: AbortController | undefined
  #loop: Promise<void> | undefined
  #wake: (() => void) | undefined
  #woken = false

  constructor(ctx: InboundWatcherContext, logger: Logger, init: InboundWatcherInit) {
    this.#ctx = { ...ctx, boundAccounts: remembered(ctx.boundAccounts) }
    this.#logger = logger
    this.#init = init
  }

  start(): void {
    if (this.#loop) return
    this.#abort = new AbortController()
    this.#loop = this.#run(this.#abort.signal)
  }

  async stop(): Promise<void> {
    this.#abort?.abort()
    this.#wake?.()
    await this.#loop
    this.#loop = undefined
  }

  /** Reads the chain now (a share was just stored) rather than at the next interval. */
  poke(): void {
    this.#woken = true
    this.#wake?.()
  }

  async #run(signal: AbortSignal): Promise<void> {
    let backoff = this.#init.pollIntervalMs
    while (!signal.aborted) {
      this.#woken = false
      let waitMs: number
      try {
        const r = await syncInbound(this.#ctx, { signal })
        if (r.attributed > 0) this.#logger.debug({ attributed: r.attributed }, 'inbound share events indexed')
        const { senderEvidence } = this.#ctx
        if (senderEvidence) {
          const leaves = await askSenders({ ...this.#ctx, senderEvidence, asked: this.#asked }, { signal })
          if (leaves > 0) this.#logger.debug({ leaves }, 'inbound batch leaves recorded from their senders')
        }
        backoff = this.#init.pollIntervalMs
        waitMs = this.#watching() ? this.#init.pollIntervalMs : INDEX_SYNC_INTERVAL_MS
      } catch (err) {
        if (signal.aborted) break
        if (err instanceof ChainUnavailableError)
          this.#logger.debug({ err: err.message }, 'inbound index waits')
        else this.#logger.warn({ err }, 'inbound index round failed')
        waitMs = backoff
        backoff = Math.min(backoff * 2, this.#init.maxBackoffMs)
      }
      if (this.#woken) continue
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, waitMs)
        this.#wake = () => {
          clearTimeout(timer)
          resolve()
        }
      })
      this.#wake = undefined
    }
  }

  #watching(): boolean {
    const since = new Date(Date.now() - INBOUND_WATCH_MS).toISOString()
    return this.#ctx.repos.inbound.outstandingShareIds({ since, limit: 1 }).length > 0
  }
}

/**
 * A sender's bound accounts, looked up on chain at most once per INDEX_SYNC_INTERVAL_MS: an event
 * from an unbound account stays a candidate, and must not cost a search of the chain every round.
 */
function remembered(lookup: BoundAccounts): BoundAccounts {
  const known = new Map<string, { readonly at: number; readonly accounts: readonly string[] }>()
  return async (peerId, opts) => {
    const hit = known.get(peerId)
    if (hit && Date.now() - hit.at < INDEX_SYNC_INTERVAL_MS) return hit.accounts
    const accounts = await lookup(peerId, opts)
    known.set(peerId, { at: Date.now(), accounts })
    return accounts
  }
}
