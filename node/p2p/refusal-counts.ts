/**
 * Counters of refusals by protocol and error name, for `/metrics`: those this node answered or
 * decided (`sent`) and those its peers answered this node with (`received`). A received name comes
 * from another node, so only names shaped like error class names are kept and the number of series
 * is capped: a hostile peer cannot grow the counters without bound.
 */

/** One counter series. */
export interface RefusalCount {
  readonly protocol: string
  readonly error: string
  readonly count: number
}

/** What the metrics read when scraped. */
export interface RefusalSnapshot {
  readonly sent: readonly RefusalCount[]
  readonly received: readonly RefusalCount[]
}

/** Error names as this project's classes and libp2p's spell them. */
const ERROR_NAME = /^[A-Z][A-Za-z0-9]{0,79}$/
/** The label for a name that is not shaped like one, or beyond the series cap. */
const OTHER = 'Other'
/** Series per direction: the node's own error names number a few dozen. */
const MAX_SERIES = 200

class RefusalSeries {
  readonly #counts = new Map<string, { protocol: string; error: string; count: number }>()

  add(protocol: string, error: string): void {
    const name = ERROR_NAME.test(error) ? error : OTHER
    let key = `${protocol}\u0000${name}`
    let entry = this.#counts.get(key)
    if (!entry && this.#counts.size >= MAX_SERIES) {
      key = `${protocol}\u0000${OTHER}`
      entry = this.#counts.get(key)
    }
    if (entry) entry.count += 1
    else this.#counts.set(key, { protocol, error: key.slice(protocol.length + 1), count: 1 })
  }

  snapshot(): RefusalCount[] {
    return [...this.#counts.values()].map((e) => ({ ...e }))
  }
}

export class RefusalCounts {
  readonly #sent = new RefusalSeries()
  readonly #received = new RefusalSeries()

  /** This node refused a peer's stream, message or connection with `error`. */
  countSent(protocol: string, error: string): void {
    this.#sent.add(protocol, error)
  }

  /** A peer answered this node's message on `protocol` with a refusal named `error`. */
  countReceived(protocol: string, error: string): void {
    this.#received.add(protocol, error)
  }

  snapshot(): RefusalSnapshot {
    return { sent: this.#sent.snapshot(), received: this.#received.snapshot() }
  }
}
