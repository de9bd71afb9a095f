/**
 * The audit trail adapter: contract client, embedded chain, durable outbox and publisher, Merkle
 * batching, verification from the chain, the event index and the hash-chained security log.
 *
 * Wiring: `AuditService` is the Startable the node runs (after the store and key ring); it persists
 * through the repositories of node/store (`AuditComponents.repositories`), never a raw database
 * handle. The p2p layer calls the hooks of `auditHooks` synchronously inside its own SQLite
 * transaction; they write through the outbox repository on the same connection.
 */
export {
  AuditService,
  type AuditComponents,
  type AuditEvents,
  type AuditInit,
  type SecretStore
} from './audit-service.ts'
export type { ConfirmedEntry } from './jobs.ts'
export {
  enqueueNodeRegistration,
  enqueueReceiptEvent,
  enqueueShareEvent,
  listOutbox,
  onReceiptStored,
  onShareQueued,
  type OutboxEntry,
  outboxDepth,
  retryOutbox
} from './outbox.ts'
export { type ShareEvent, canonicalShareRecord, peerIdHash, receiptLeaf, shareLeaf } from './leaves.ts'
export type { PublisherStatus, SettledTransaction } from './publisher.ts'
export { type HistoryEntry, type HistoryFilter, history } from './history.ts'
export {
  type AuditEventType,
  type Evidence,
  type LeafProof,
  type VerifyResult,
  verifyLeafInclusion
} from './verify.ts'
export {
  canonicalDetail,
  type LogVerification,
  SECURITY_EVENT_KINDS,
  SecurityLog,
  type SecurityEventKind,
  type SecurityLogRow
} from './security-log.ts'
export { merkleRoot, inclusionProof, verifyInclusion } from './merkle.ts'
export {
  deployAuditTrail,
  checkBytecode,
  readChainRecord,
  writeChainRecord,
  type ChainRecord
} from './deploy.ts'
export { EmbeddedChain, type EmbeddedChainInit } from './embedded-chain.ts'
export { HardhatNode } from './hardhat-node.ts'
export * from './errors.ts'
export { auditApiPorts, auditHealthProbes, auditPorts } from './ports-adapter.ts'
export { type AuditedShare, type AuditHooks, type AuditHooksComponents, auditHooks } from './p2p-hooks.ts'
export { type IdentityEntry, IdentityDirectory } from './identity-directory.ts'
export { type BundleContext, buildBundle } from './bundle.ts'
export {
  type Anchor,
  type BatchAnchor,
  type EventAnchor,
  type EvidenceBundle,
  MalformedBundleError,
  parseBundle,
  serializeBundle
} from './bundle-format.ts'
export {
  type BundleCheck,
  type BundleCheckReason,
  type CheckBundleOptions,
  checkBundle,
  type ShareCheck
} from './bundle-check.ts'
