/**
 * The peer-to-peer adapter: a libp2p node (TCP, Noise, Yamux, identify, ping, kad-dht) with the
 * versioned protocols `/dmn/share/1.0.0`, `/dmn/fetch/1.0.0`, `/dmn/cert/1.0.0`, `/dmn/attest/1.0.0` and
 * `/dmn/evidence/1.0.0`, a persistent peer
 * book with trust policy and health, inbound limits, and a durable delivery worker.
 *
 * Entry point: `new P2pService(components, init)` (a Startable; start after the store and key ring),
 * with `p2pInitFromConfig(config, extras)` for the options. Its methods are what the ports of
 * `ports-adapter.ts` and the CLI use: `queueShare` (acceptances committed in groups), `shareData`,
 * `acceptanceStats`, `getShare`, `sharesOf`, `getRecord`, `askEvidence`, `recordInfo`, `stats`, `refusalCounts`, `peers`, `allowPeer`, `denyPeer`, `connect`; its events (`share:queued`,
 * `share:delivered`, `share:attempt-failed`, `share:received`, `peer:verified`, `refused`) feed live
 * updates.
 */
export type { AttestationChallenge, P2pAttestation } from './attest-protocol.ts'
export * from './constants.ts'
export * from './errors.ts'
export type { P2pEvidence } from './evidence-protocol.ts'
export { p2pInitFromConfig } from './from-config.ts'
export type { PeerEntry, PeerStatus, PeerTrust } from './peer-book.ts'
export { P2pService } from './p2p-service.ts'
export {
  createDataService,
  createNetworkService,
  createShareService,
  p2pHealthProbe,
  type ShareServiceComponents
} from './ports-adapter.ts'
export type { P2pComponents, P2pEvents, P2pHooks, P2pInit, P2pKeyRing, QueuedShare } from './p2p-types.ts'
export type { RefusalCount, RefusalSnapshot } from './refusal-counts.ts'
export type { P2pStats } from './stats.ts'
export { minimumTrustFor, type TrustMode } from './trust.ts'
