import { RefusalCounts } from './refusal-counts.ts'

/** Counters of the node's own protocols, for the network stats of the API and the metrics. */
export class TrafficStats {
  readonly startedAtMs = Date.now()
  readonly refusals = new RefusalCounts()
  messagesIn = 0
  messagesOut = 0
  bytesIn = 0
  bytesOut = 0

  recordIn(bytes: number): void {
    this.messagesIn += 1
    this.bytesIn += bytes
  }

  recordOut(bytes: number): void {
    this.messagesOut += 1
    this.bytesOut += bytes
  }

  uptimeSeconds(nowMs: number = Date.now()): number {
    return Math.floor((nowMs - this.startedAtMs) / 1000)
  }
}

/** The p2p layer's peer and traffic figures (the API's NetworkStats and /health are made from them). */
export interface P2pStats {
  readonly peerId: string
  readonly totalPeers: number
  readonly healthyPeers: number
  readonly connectedPeers: number
  /** Mean of the known peers' latencies, null when none was measured yet. */
  readonly averageLatencyMs: number | null
  readonly messagesIn: number
  readonly messagesOut: number
  readonly bytesIn: number
  readonly bytesOut: number
  readonly uptimeSeconds: number
  /** How many bootstrap peers are configured. */
  readonly bootstrapPeers: number
  /** Counts of shares by `direction:state`, e.g. `out:queued`. */
  readonly shares: Record<string, number>
}
