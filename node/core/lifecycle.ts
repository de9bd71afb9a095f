/**
 * Long-lived parts of the node implement `Startable`. They start in dependency order and stop in
 * reverse; if one fails to start, those already started are stopped again.
 */

export interface Startable {
  /** A short name for logs. */
  readonly name: string
  start(): Promise<void> | void
  /** Must be safe to call once after a successful start; drains in-flight work first. */
  stop(): Promise<void> | void
}

export interface LifecycleEvents {
  onStarted?(name: string): void
  onStopped?(name: string): void
  onStopFailed?(name: string, err: unknown): void
}

export class Lifecycle {
  readonly #components: Startable[]
  readonly #events: LifecycleEvents
  readonly #started: Startable[] = []
  #stopping: Promise<void> | undefined

  constructor(components: readonly Startable[], events: LifecycleEvents = {}) {
    this.#components = [...components]
    this.#events = events
  }

  /** Starts every component in order. On failure stops the started ones and rethrows. */
  async start(): Promise<void> {
    for (const component of this.#components) {
      try {
        await component.start()
      } catch (err) {
        await this.stop()
        throw err
      }
      this.#started.push(component)
      this.#events.onStarted?.(component.name)
    }
  }

  /** Stops started components in reverse order; idempotent. Errors are reported, not thrown. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      while (this.#started.length > 0) {
        const component = this.#started.pop() as Startable
        try {
          await component.stop()
          this.#events.onStopped?.(component.name)
        } catch (err) {
          this.#events.onStopFailed?.(component.name, err)
        }
      }
    })().finally(() => {
      this.#stopping = undefined
    })
    return this.#stopping
  }
}
