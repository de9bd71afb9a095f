import { peerIdFromString } from '@libp2p/peer-id'
import type { Logger } from '../log/logger.ts'
import { MAX_PING_TIMEOUT_MS, MAX_PINGS_PER_ROUND } from './constants.ts'
import { P2P_DEFAULTS } from './defaults.ts'
import type { DmnLibp2p } from './libp2p-node.ts'
import type { PeerBook } from './peer-book.ts'

/**
 * Pings connected peers and the peers we exchanged certificates with, every interval, and records
 * latency and success in the peer book. The success rate decides who counts as healthy; healthy
 * peers are asked first (fetch) and listed first.
 */

/** What the health monitor needs. */
export interface HealthMonitorComponents {
  readonly libp2p: DmnLibp2p
  readonly peerBook: Pick<PeerBook, 'list' | 'isDenied' | 'recordContact'>
  readonly logger: Logger
  /** Called when a ping succeeds: a peer is reachable again. */
  readonly onReachable: (peerId: string) => void
}

/** Settings of the health monitor (all optional). */
export interface HealthMonitorInit {
  /** Time between rounds (`p2p.healthIntervalSeconds`). */
  readonly intervalMs?: number
  /** How long one ping may take (the stream timeout, at most MAX_PING_TIMEOUT_MS). */
  readonly timeoutMs?: number
  /** Peers pinged per round at the most (MAX_PINGS_PER_ROUND). */
  readonly maxPingsPerRound?: number
}

export type { HealthMonitor }

class HealthMonitor {
  readonly name = 'health-monitor'
  readonly #components: HealthMonitorComponents
  readonly #settings: Required<HealthMonitorInit>
  #timer: NodeJS.Timeout | undefined
  #round: Promise<void> | undefined
  #controller = new AbortController()

  constructor(components: HealthMonitorComponents, init: HealthMonitorInit) {
    this.#components = components
    this.#settings = {
      intervalMs: init.intervalMs ?? P2P_DEFAULTS.healthIntervalSeconds * 1000,
      timeoutMs: init.timeoutMs ?? Math.min(P2P_DEFAULTS.streamTimeoutMs, MAX_PING_TIMEOUT_MS),
      maxPingsPerRound: init.maxPingsPerRound ?? MAX_PINGS_PER_ROUND
    }
  }

  start(): void {
    this.#controller = new AbortController()
    this.#timer = setInterval(() => {
      this.#round ??= this.#checkAll().finally(() => {
        this.#round = undefined
      })
    }, this.#settings.intervalMs)
    this.#timer.unref()
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer)
    this.#controller.abort()
    await this.#round
  }

  /** One round: every connected peer and every known peer with a certificate, up to the round's cap. */
  async #checkAll(): Promise<void> {
    const targets = new Set(this.#components.libp2p.getPeers().map((p) => p.toString()))
    for (const entry of this.#components.peerBook.list()) {
      if (entry.certificatePem && entry.status === 'active') targets.add(entry.peerId)
    }
    const round = [...targets].slice(0, this.#settings.maxPingsPerRound)
    await Promise.all(round.map((peer) => this.#check(peer)))
  }

  /** Pings one peer and records the outcome in the peer book. */
  async #check(peerId: string): Promise<void> {
    const { libp2p, peerBook, logger, onReachable } = this.#components
    if (peerBook.isDenied(peerId)) return
    const signal = AbortSignal.any([this.#controller.signal, AbortSignal.timeout(this.#settings.timeoutMs)])
    try {
      const rtt = await libp2p.services.ping.ping(peerIdFromString(peerId), { signal })
      peerBook.recordContact(peerId, true, rtt)
      onReachable(peerId)
    } catch (err) {
      if (this.#controller.signal.aborted) return
      peerBook.recordContact(peerId, false)
      logger.debug({ peerId, err: (err as Error).message }, 'ping failed')
    }
  }
}

/** The health monitor: a ping round every interval from its start, the round in flight awaited at stop. */
export function createHealthMonitor(
  components: HealthMonitorComponents,
  init: HealthMonitorInit = {}
): HealthMonitor {
  return new HealthMonitor(components, init)
}
