import { peerIdFromString } from '@libp2p/peer-id'
import type { Logger } from '../log/logger.ts'
import type { DmnLibp2p } from './libp2p-node.ts'
import type { PeerBook } from './peer-book.ts'

/**
 * Pings connected peers and the peers we exchanged certificates with, every interval, and records
 * latency and success in the peer book. The success rate decides who counts as healthy; healthy
 * peers are asked first (fetch) and listed first.
 */
export interface HealthMonitorInit {
  readonly libp2p: DmnLibp2p
  readonly peerBook: PeerBook
  readonly logger: Logger
  readonly intervalMs: number
  readonly timeoutMs: number
  /** Called when a ping succeeds: a peer is reachable again. */
  readonly onReachable: (peerId: string) => void
}

const MAX_PINGS_PER_ROUND = 64

export class HealthMonitor {
  readonly name = 'health-monitor'
  readonly #init: HealthMonitorInit
  #timer: NodeJS.Timeout | undefined
  #round: Promise<void> | undefined
  #controller = new AbortController()

  constructor(init: HealthMonitorInit) {
    this.#init = init
  }

  start(): void {
    this.#controller = new AbortController()
    this.#timer = setInterval(() => {
      this.#round ??= this.checkAll().finally(() => {
        this.#round = undefined
      })
    }, this.#init.intervalMs)
    this.#timer.unref()
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer)
    this.#controller.abort()
    await this.#round
  }

  /** One round: every connected peer and every known peer with a certificate, at most 64. */
  async checkAll(): Promise<void> {
    const targets = new Set(this.#init.libp2p.getPeers().map((p) => p.toString()))
    for (const entry of this.#init.peerBook.list()) {
      if (entry.certificatePem && entry.status === 'active') targets.add(entry.peerId)
    }
    await Promise.all([...targets].slice(0, MAX_PINGS_PER_ROUND).map((peer) => this.check(peer)))
  }

  /** Pings one peer; returns the round-trip time, or undefined when it failed. */
  async check(peerId: string): Promise<number | undefined> {
    if (this.#init.peerBook.isDenied(peerId)) return undefined
    const signal = AbortSignal.any([this.#controller.signal, AbortSignal.timeout(this.#init.timeoutMs)])
    try {
      const rtt = await this.#init.libp2p.services.ping.ping(peerIdFromString(peerId), { signal })
      this.#init.peerBook.recordContact(peerId, true, rtt)
      this.#init.onReachable(peerId)
      return rtt
    } catch (err) {
      if (this.#controller.signal.aborted) return undefined
      this.#init.peerBook.recordContact(peerId, false)
      this.#init.logger.debug({ peerId, err: (err as Error).message }, 'ping failed')
      return undefined
    }
  }
}
