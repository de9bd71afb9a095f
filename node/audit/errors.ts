/**
 * Errors of the audit trail. Each has a stable `name`; foreign errors (fetch, JSON-RPC, ethers) are
 * kept as `cause`.
 */
import { DmnError } from '../core/errors.ts'

/** The chain's JSON-RPC endpoint could not be reached or did not answer in time. */
export class ChainUnavailableError extends DmnError {
  override name = 'ChainUnavailableError'
}

/** The JSON-RPC endpoint answered with an error object. */
export class ChainRpcError extends DmnError {
  override name = 'ChainRpcError'
  readonly code: number
  /** Revert data when the error is an execution revert. */
  readonly data: string | undefined

  constructor(message: string, code: number, data: string | undefined, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.data = data
  }
}

/** The account cannot pay for a transaction: its balance is below gas limit times gas price. */
export class InsufficientFundsError extends DmnError {
  override name = 'InsufficientFundsError'
  readonly address: string
  readonly balance: bigint
  readonly required: bigint

  constructor(message: string, fields: { address: string; balance: bigint; required: bigint }) {
    super(message)
    this.address = fields.address
    this.balance = fields.balance
    this.required = fields.required
  }
}

/** A contract call reverted; `errorName` is the contract's custom error (or `Unknown`). */
export class ContractRevertError extends DmnError {
  override name = 'ContractRevertError'
  readonly errorName: string
  readonly args: readonly unknown[]

  constructor(errorName: string, args: readonly unknown[], options?: { cause?: unknown }) {
    super(`contract reverted with ${errorName}`, options)
    this.errorName = errorName
    this.args = args
  }
}

/** The configured contract address does not hold the AuditTrail bytecode this node ships. */
export class ContractBytecodeMismatchError extends DmnError {
  override name = 'ContractBytecodeMismatchError'
}

/** A local chain process (the embedded anvil, or a `hardhat node`) did not start. */
export class EmbeddedChainError extends DmnError {
  override name = 'EmbeddedChainError'
}

/**
 * The embedded chain cannot run on this machine: anvil, an optional dependency for Linux x86-64, is
 * not installed. The message says to set CHAIN_RPC_URL instead.
 */
export class EmbeddedChainUnavailableError extends DmnError {
  override name = 'EmbeddedChainUnavailableError'
}

/** An audit event handed to the outbox is malformed. */
export class InvalidAuditEventError extends DmnError {
  override name = 'InvalidAuditEventError'
}

/** No outbox row or batch with that id. */
export class OutboxEntryNotFoundError extends DmnError {
  override name = 'OutboxEntryNotFoundError'
}

/** The audit component is used before it started, or without a chain. */
export class AuditNotReadyError extends DmnError {
  override name = 'AuditNotReadyError'
}

/** The security log's chain of hashes or one of its anchors does not check out. */
export class SecurityLogTamperedError extends DmnError {
  override name = 'SecurityLogTamperedError'
}

/** A data hash could not be verified on chain. */
export class AuditVerificationFailedError extends DmnError {
  override name = 'AuditVerificationFailedError'
}
