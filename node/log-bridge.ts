/**
 * The info-level lines an operator follows, written from what the node's services report: peers
 * connecting and disconnecting (refusals the p2p layer logs itself), and each share's walk
 * (accepted, resolved, sent, received, audited, failed). A share accepted through the API carries
 * that request's id (`requestId`, node/log/request-context.ts) on every later line about it, so
 * one grep for the id follows the share from the access line to its audit.
 */
import type { PeerId } from '@libp2p/interface'
import type { Startable } from './core/lifecycle.ts'
import type { AuditEvents } from './audit/index.ts'
import type { Logger } from './log/logger.ts'
import { currentRequestId } from './log/request-context.ts'
import type { P2pEvents } from './p2p/index.ts'
import type { DmnLibp2p } from './p2p/libp2p-node.ts'

/** Something that emits named events (node:events style). */
interface Emitter<Events> {
  on<K extends keyof Events & string>(event: K, listener: (...args: never[]) => void): unknown
  off<K extends keyof Events & string>(event: K, listener: (...args: never[]) => void): unknown
}

export interface LogBridgeComponents {
  readonly logger: Logger
  readonly p2p: Emitter<P2pEvents> & { readonly libp2p: DmnLibp2p }
  readonly audit: Emitter<AuditEvents>
}

/** Shares whose request id is remembered at once; the oldest is forgotten beyond it. */
const MAX_REMEMBERED = 10_000

/** Request ids of shares still on their way, by share id, in acceptance order. */
class RequestIds {
  readonly #ids = new Map<string, string>()

  remember(shareId: string, requestId: string | undefined): void {
    if (requestId === undefined) return
    this.#ids.set(shareId, requestId)
    if (this.#ids.size > MAX_REMEMBERED) this.#ids.delete(this.#ids.keys().next().value as string)
  }

  of(shareId: string): { requestId?: string } {
    const requestId = this.#ids.get(shareId)
    return requestId === undefined ? {} : { requestId }
  }

  forget(shareId: string): void {
    this.#ids.delete(shareId)
  }
}

/** Subscribes at start (after p2p and audit started), unsubscribes at stop. */
export function createLogBridge({ logger, p2p, audit }: LogBridgeComponents): Startable {
  const requests = new RequestIds()
  const unbridge: (() => void)[] = []
  const on = <E>(emitter: Emitter<E>, name: keyof E & string, listener: (...args: never[]) => void) => {
    emitter.on(name, listener)
    unbridge.push(() => emitter.off(name, listener))
  }
  return {
    name: 'log-bridge',
    start() {
      const libp2p = p2p.libp2p
      const onConnect = (evt: CustomEvent<PeerId>) => {
        const connection = libp2p.getConnections(evt.detail)[0]
        logger.info(
          {
            peerId: evt.detail.toString(),
            address: connection?.remoteAddr.toString(),
            direction: connection?.direction
          },
          'peer connected'
        )
      }
      const onDisconnect = (evt: CustomEvent<PeerId>) => {
        logger.info({ peerId: evt.detail.toString() }, 'peer disconnected')
      }
      libp2p.addEventListener('peer:connect', onConnect)
      libp2p.addEventListener('peer:disconnect', onDisconnect)
      unbridge.push(() => {
        libp2p.removeEventListener('peer:connect', onConnect)
        libp2p.removeEventListener('peer:disconnect', onDisconnect)
      })

      // Emitted inside the accepting request's own call, so its id is the current one.
      on(p2p, 'share:queued', ({ share }: P2pEvents['share:queued'][0]) => {
        requests.remember(share.shareId, currentRequestId())
        logger.info(
          {
            shareId: share.shareId,
            recipient: share.recipient,
            tier: share.tier,
            state: share.state,
            ...requests.of(share.shareId)
          },
          'share accepted'
        )
      })
      on(p2p, 'share:resolved', ({ share, via }: P2pEvents['share:resolved'][0]) => {
        logger.info(
          { shareId: share.shareId, recipient: share.recipient, via, ...requests.of(share.shareId) },
          'share recipient resolved'
        )
      })
      on(p2p, 'share:delivered', ({ share }: P2pEvents['share:delivered'][0]) => {
        logger.info(
          {
            shareId: share.shareId,
            recipient: share.recipient,
            tier: share.tier,
            attempts: share.attempts,
            ...requests.of(share.shareId)
          },
          'share sent: recipient receipt verified'
        )
      })
      on(p2p, 'share:attempt-failed', ({ share, error, final }: P2pEvents['share:attempt-failed'][0]) => {
        const line = {
          shareId: share.shareId,
          recipient: share.recipient,
          error,
          attempts: share.attempts,
          ...requests.of(share.shareId)
        }
        if (!final) {
          logger.info(line, 'share delivery attempt failed; retrying')
          return
        }
        logger.warn(line, 'share failed')
        requests.forget(share.shareId)
      })
      on(p2p, 'share:received', ({ share }: P2pEvents['share:received'][0]) => {
        logger.info(
          { shareId: share.shareId, sender: share.sender, tier: share.tier, dataHash: share.dataHash },
          'share received'
        )
      })
      on(audit, 'audit:confirmed', (entry: AuditEvents['audit:confirmed'][0]) => {
        if (entry.shareId === null) return
        logger.info(
          { shareId: entry.shareId, event: entry.kind, txHash: entry.txHash, ...requests.of(entry.shareId) },
          'share audited'
        )
        // The receipt's event is the share's last.
        if (entry.kind === 'receipt') requests.forget(entry.shareId)
      })
    },
    stop() {
      for (const off of unbridge.splice(0)) off()
    }
  }
}
