import {
  type ResolvedVia,
  type ResolveShareComponents,
  resolutionPlan,
  resolveShare,
  unresolvedAddress
} from '../core/resolve-share.ts'
import type { IdentityRegistry, RegisteredIdentity, StoredShare } from '../core/share-ports.ts'
import type { Logger } from '../log/logger.ts'
import type { ShareRepository } from '../store/shares.ts'
import { RESOLVE_BATCH } from './constants.ts'
import { P2P_DEFAULTS } from './defaults.ts'
import { errorName } from './errors.ts'

/**
 * The look-up loop of shares that wait `unresolved` (node/core/resolve-share.ts decides; this keeps
 * the timers). A round takes the due shares, asks the peer directory and the chain's identity
 * registry once per address, and moves each share to `queued` for the PeerId found, looks again
 * after `p2p.resolveIntervalMs`, or fails it at its expiry. A new unresolved share and a newly
 * verified peer (whose certificate may bind a waiting address) start a round at once.
 */

/** The unresolved shares as a queue. */
export type ResolutionQueue = Pick<
  ShareRepository,
  'listUnresolvedDue' | 'nextUnresolvedMs' | 'markLookupAgain' | 'markFailed' | 'advanceUnresolved'
>

/** What the resolver needs: the core's resolution use case's ports, the queue, and where it reports. */
export interface RecipientResolverComponents extends ResolveShareComponents<StoredShare> {
  readonly queue: ResolutionQueue
  readonly logger: Logger
  readonly onResolved: (share: StoredShare, via: ResolvedVia) => void
  /** A share failed unresolved; `err` is what the last look-up answered. */
  readonly onFailed: (share: StoredShare, err: unknown) => void
}

/** Settings of the resolver. */
export interface RecipientResolverInit {
  /** Between two look-ups of one share (`p2p.resolveIntervalMs`). */
  readonly intervalMs?: number
  /** The deadline of one share's look-up (`p2p.streamTimeoutMs`). */
  readonly timeoutMs?: number
}

export type { RecipientResolver }

class RecipientResolver {
  readonly name = 'recipient-resolver'
  readonly #components: RecipientResolverComponents
  readonly #settings: Required<RecipientResolverInit>
  #controller = new AbortController()
  #timer: NodeJS.Timeout | undefined
  #round: Promise<void> | undefined
  #again = false
  #running = false

  constructor(components: RecipientResolverComponents, init: RecipientResolverInit) {
    this.#components = components
    this.#settings = {
      intervalMs: init.intervalMs ?? P2P_DEFAULTS.resolveIntervalMs,
      timeoutMs: init.timeoutMs ?? P2P_DEFAULTS.streamTimeoutMs
    }
  }

  start(): void {
    this.#controller = new AbortController()
    this.#running = true
    this.kick()
  }

  /** Stops the rounds; a look-up in flight is aborted and its share stays due. */
  async stop(): Promise<void> {
    this.#running = false
    clearTimeout(this.#timer)
    this.#controller.abort()
    await this.#round
  }

  /** Looks up the due shares now (a new unresolved share, a peer just verified). */
  kick(): void {
    if (!this.#running) return
    if (this.#round) {
      this.#again = true
      return
    }
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => this.#startRound(), 0)
  }

  /** A peer whose certificate binds `address` was verified: the shares waiting for it are looked up now. */
  addressBound(address: string): void {
    if (this.#components.queue.advanceUnresolved(address.toLowerCase(), Date.now()) > 0) this.kick()
  }

  #startRound(): void {
    if (!this.#running || this.#round) return
    this.#again = false
    this.#round = this.#roundOnce()
      .catch((err: unknown) => this.#components.logger.warn({ err: errorName(err) }, 'resolver round failed'))
      .finally(() => {
        this.#round = undefined
        if (this.#again) this.kick()
        else this.#schedule()
      })
  }

  #schedule(): void {
    if (!this.#running) return
    const due = this.#components.queue.nextUnresolvedMs()
    if (due === undefined) return
    // Capped so a share made unresolved by another process (the CLI) is noticed within a minute.
    const delay = Math.min(60_000, Math.max(0, due - Date.now()))
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => this.#startRound(), delay)
  }

  async #roundOnce(): Promise<void> {
    const { queue } = this.#components
    // One registry look-up per address and round, however many shares wait for it.
    const lookups = new Map<string, Promise<RegisteredIdentity | undefined>>()
    const registry = this.#components.registry
    const roundRegistry: IdentityRegistry | undefined = registry && {
      lookup: (account, options) => {
        let pending = lookups.get(account)
        if (!pending) {
          pending = registry.lookup(account, options)
          lookups.set(account, pending)
        }
        return pending
      }
    }
    for (;;) {
      const due = queue.listUnresolvedDue(Date.now(), RESOLVE_BATCH)
      if (due.length === 0 || !this.#running) return
      for (const share of due) {
        if (!this.#running) return
        const signal = AbortSignal.any([
          this.#controller.signal,
          AbortSignal.timeout(this.#settings.timeoutMs)
        ])
        await this.#lookUp(share, roundRegistry, signal)
      }
      if (due.length < RESOLVE_BATCH) return
    }
  }

  async #lookUp(
    share: StoredShare,
    registry: IdentityRegistry | undefined,
    signal: AbortSignal
  ): Promise<void> {
    try {
      const resolved = await resolveShare({ ...this.#components, registry }, share, { signal })
      if (resolved) this.#components.onResolved(resolved.share, resolved.via)
    } catch (err) {
      const stopping = this.#controller.signal.aborted
      const plan = resolutionPlan(share, err, { nowMs: Date.now(), stopping }, this.#settings)
      if (plan.final) {
        this.#components.queue.markFailed(share.shareId, plan.lastError)
        this.#components.onFailed(share, err)
      } else {
        this.#components.queue.markLookupAgain(share.shareId, plan.nextLookupMs, plan.lastError)
      }
      this.#components.logger.debug(
        { shareId: share.shareId, address: unresolvedAddress(share), err: plan.lastError, final: plan.final },
        'recipient not resolved'
      )
    }
  }
}

/** The recipient resolver: looks unresolved shares up from its start until its stop. */
export function createRecipientResolver(
  components: RecipientResolverComponents,
  init: RecipientResolverInit = {}
): RecipientResolver {
  return new RecipientResolver(components, init)
}
