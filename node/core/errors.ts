/**
 * Domain errors. Every error the node raises on purpose is a class with a stable `name`; code and
 * tests match on `name` (or `instanceof`), never on message text. Foreign errors are wrapped at the
 * adapter boundary and kept as `cause`.
 */

/** Base class of every deliberate error of the node. */
export class DmnError extends Error {
  override name = 'DmnError'

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}

/** A command line or option that cannot be understood (exit code 2). */
export class UsageError extends DmnError {
  override name = 'UsageError'
}

/** The configuration is invalid; `problems` lists every one of them. */
export class ConfigError extends DmnError {
  override name = 'ConfigError'
  readonly problems: readonly string[]

  constructor(problems: readonly string[], options?: { cause?: unknown }) {
    super(
      problems.length === 1
        ? `invalid configuration: ${problems[0]}`
        : `invalid configuration (${problems.length} problems): ${problems.join('; ')}`,
      options
    )
    this.problems = problems
  }
}

/** The node was asked to start without a master password. */
export class MissingMasterPasswordError extends ConfigError {
  override name = 'MissingMasterPasswordError'

  constructor() {
    super([
      'no master password: set KEY_MASTER_PASSWORD (or DMN_MASTER_PASSWORD), or DMN_MASTER_PASSWORD_FILE to a file holding it; the node does not start without one'
    ])
    this.message =
      'no master password: set KEY_MASTER_PASSWORD (or DMN_MASTER_PASSWORD), or DMN_MASTER_PASSWORD_FILE to a file holding it; the node does not start without one'
  }
}

/**
 * A bootstrap peer is written in DataMgmt Node (Python)'s `host:port` form (`INITIAL_PEERS=
 * http://10.0.0.5:4001`), which libp2p cannot dial; each problem names the multiaddr to write
 * instead, and `peers` lists them. Any other configuration problem is listed with them.
 */
export class AnchorPeerAddressError extends ConfigError {
  override name = 'AnchorPeerAddressError'
  readonly peers: readonly { readonly given: string; readonly multiaddr: string }[]

  constructor(
    problems: readonly string[],
    peers: readonly { readonly given: string; readonly multiaddr: string }[]
  ) {
    super(problems)
    this.peers = peers
  }
}

/** An operation was aborted through its AbortSignal or timed out. */
export class AbortedError extends DmnError {
  override name = 'AbortedError'
}

/**
 * A maximum-tier share was asked of a node that has no attestation verifier: the tier needs a fresh
 * TPM attestation of the recipient, which this node cannot check. The node's setup is missing
 * something, the request is fine, so the API answers 503 (dependency `attestation`).
 */
export class AttestationNotConfiguredError extends DmnError {
  override name = 'AttestationNotConfiguredError'
}

/**
 * A port the node is configured to listen on cannot be had: taken by another process (`EADDRINUSE`),
 * privileged (`EACCES`), or its host is not an address of this machine (`EADDRNOTAVAIL`). The
 * message names the setting to change and its variable.
 */
export class PortUnavailableError extends DmnError {
  override name = 'PortUnavailableError'
  /** The setting path, e.g. `p2p.port`. */
  readonly setting: string
  readonly host: string
  readonly port: number
  /** The system error code when known (`EADDRINUSE`, `EACCES`, `EADDRNOTAVAIL`, ...). */
  readonly code: string | undefined

  constructor(
    message: string,
    fields: { setting: string; host: string; port: number; code: string | undefined },
    options?: { cause?: unknown }
  ) {
    super(message, options)
    this.setting = fields.setting
    this.host = fields.host
    this.port = fields.port
    this.code = fields.code
  }
}
