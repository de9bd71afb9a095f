import { AuditBatchRepository } from './audit-batches.ts'
import { AuditEventRepository } from './audit-events.ts'
import { ChainStateRepository } from './chain-state.ts'
import { ChainTxRepository } from './chain-txs.ts'
import type { Db } from './database.ts'
import { IdentityRecordRepository } from './identity-records.ts'
import { InboundAuditRepository } from './inbound-audit.ts'
import { OutboxRepository } from './outbox.ts'
import { SecurityLogRepository } from './security-log.ts'
import { ShareRepository } from './shares.ts'

/**
 * Everything the audit trail keeps in the node's database, as repositories over one connection.
 * better-sqlite3 transactions belong to the connection, so the writes of any of these repositories
 * inside `transaction(fn)`, or inside a `db.transaction()` someone else opened on the same `Db` (the
 * p2p layer's share transaction), commit or roll back together.
 */
export interface AuditRepositories {
  readonly outbox: OutboxRepository
  readonly batches: AuditBatchRepository
  readonly chainTxs: ChainTxRepository
  readonly chainState: ChainStateRepository
  readonly events: AuditEventRepository
  /** The indexed events that name shares this node received, and their attribution. */
  readonly inbound: InboundAuditRepository
  readonly securityLog: SecurityLogRepository
  /** Node identity records found on chain, with the outcome of their check. */
  readonly identities: IdentityRecordRepository
  /** The node's shares, read for the receipts of inbound shares (their evidence bundles). */
  readonly shares: ShareRepository
  /** Runs `fn` (synchronous: never await inside) in one SQLite transaction; a savepoint when nested. */
  transaction<T>(fn: () => T): T
}

/** Prepares the audit trail's repositories over an open, migrated database. */
export function auditRepositories(db: Db): AuditRepositories {
  return {
    outbox: new OutboxRepository(db),
    batches: new AuditBatchRepository(db),
    chainTxs: new ChainTxRepository(db),
    chainState: new ChainStateRepository(db),
    events: new AuditEventRepository(db),
    inbound: new InboundAuditRepository(db),
    securityLog: new SecurityLogRepository(db),
    identities: new IdentityRecordRepository(db),
    shares: new ShareRepository(db),
    transaction: <T>(fn: () => T): T => db.transaction(fn)()
  }
}
