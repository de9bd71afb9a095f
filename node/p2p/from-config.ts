import { readFileSync } from 'node:fs'
import type { Config } from '../../config/index.ts'
import type { P2pInit } from './p2p-types.ts'

/**
 * Builds the P2P service options from `config.p2p` (and the replay window of `config.crypto`),
 * reading the certificate files it names. Wiring-time extras (hooks, attestation, evidence, identity registry, Ethereum address)
 * are passed in by the composition root.
 */
export function p2pInitFromConfig(
  config: Pick<Config, 'p2p' | 'crypto'>,
  extras: Pick<P2pInit, 'hooks' | 'attestation' | 'ethAddress' | 'evidence' | 'registry'> = {}
): P2pInit {
  const p2p = config.p2p
  return {
    host: p2p.host,
    port: p2p.port,
    bootstrap: p2p.bootstrap,
    maxConnections: p2p.maxConnections,
    trust: p2p.trust,
    allowlist: p2p.allowlist,
    caCertificatePems: p2p.caCertificateFiles.map((file) => readFileSync(file, 'utf8')),
    certificatePem: p2p.certificateFile === undefined ? undefined : readFileSync(p2p.certificateFile, 'utf8'),
    ethAddress: extras.ethAddress,
    streamTimeoutMs: p2p.streamTimeoutMs,
    retryBaseMs: p2p.retryBaseMs,
    retryMaxMs: p2p.retryMaxMs,
    shareExpiryMs: p2p.shareExpirySeconds * 1000,
    healthIntervalMs: p2p.healthIntervalSeconds * 1000,
    resolveIntervalMs: p2p.resolveIntervalMs,
    deliveryConcurrency: p2p.deliveryConcurrency,
    batchMax: p2p.batchMax,
    batchWindowMs: p2p.batchWindowMs,
    replayWindowSeconds: config.crypto.replayWindowSeconds,
    limits: p2p.limits,
    hooks: extras.hooks,
    attestation: extras.attestation,
    evidence: extras.evidence,
    registry: extras.registry
  }
}
