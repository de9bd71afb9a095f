import { DmnError } from '../core/errors.ts'

/** Storage errors: the database cannot be opened, or its schema and the code disagree. */

/** The database file cannot be opened or is not a database. */
export class DatabaseOpenError extends DmnError {
  override name = 'DatabaseOpenError'
}

/** An applied migration's file changed since it was applied. */
export class MigrationChecksumError extends DmnError {
  override name = 'MigrationChecksumError'
}

/** The database has migrations this code does not know: it was written by a newer version. */
export class DatabaseNewerThanCodeError extends DmnError {
  override name = 'DatabaseNewerThanCodeError'
}

/** A migration failed; the database is left as it was before that migration. */
export class MigrationFailedError extends DmnError {
  override name = 'MigrationFailedError'
}

/** A migration file name is not `NNNN_name.sql`, or two files share a number. */
export class MigrationFileError extends DmnError {
  override name = 'MigrationFileError'
}

/** A signed transaction recorded twice while the first is still live (sent or settled on this chain). */
export class DuplicateTransactionError extends DmnError {
  override name = 'DuplicateTransactionError'
}

/**
 * The event log's triggers are not all installed: a table they belong to was rebuilt after
 * migrations/0012_event_log.sql ran (DROP TABLE drops its triggers), so state changes would go
 * unreported.
 */
export class EventTriggersMissingError extends DmnError {
  override name = 'EventTriggersMissingError'
}

/**
 * The triggers that keep the table of inbound shares waiting for their audit exact are not all
 * installed: shares or audit_events was rebuilt after migrations/0017_inbound_audit_pending.sql ran
 * (DROP TABLE drops its triggers), so the recipient's watchers would read a stale list.
 */
export class InboundAuditTriggersMissingError extends DmnError {
  override name = 'InboundAuditTriggersMissingError'
}

/** `dmn db backup` could not write a checked copy of the database (nothing is left under its name). */
export class DatabaseBackupError extends DmnError {
  override name = 'DatabaseBackupError'
}
