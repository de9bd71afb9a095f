/**
 * The node's own audit service for the `dmn audit` and `dmn chain` commands: built over the CLI's
 * database, and connected (`connect()`) or used (`deploy()`) without starting it, so it sends no
 * audit events.
 */
import { AuditNotReadyError, AuditService, type SecretStore } from '../audit/index.ts'
import { KeyRingNotFoundError, type KeyRing, keyRingPath, openKeyRing } from '../crypto/index.ts'
import type { Db } from '../store/database.ts'
import { auditRepositories } from '../store/audit-repositories.ts'
import type { CliContext } from './context.ts'

/** The audit service over `db`; `keyRing` holds the node's Ethereum key (for `deploy()`). */
export function auditServiceOver(
  ctx: CliContext,
  db: () => Db,
  keyRing?: () => Promise<SecretStore>
): AuditService {
  const cfg = ctx.config()
  return new AuditService(
    {
      repositories: () => auditRepositories(db()),
      logger: ctx.logger(),
      ...(keyRing ? { keyRing } : {})
    },
    { ...cfg.chain, dataDir: cfg.dataDir }
  )
}

/**
 * Opens the key ring that keeps the node's Ethereum key (asked for only when `chain.privateKey` is
 * not configured), with the refusals an operator can act on.
 */
export async function openEthKeyRing(ctx: CliContext): Promise<KeyRing> {
  const cfg = ctx.config()
  if (!cfg.masterPassword) {
    throw new AuditNotReadyError(
      'no Ethereum key: set DMN_CHAIN_PRIVATE_KEY, or KEY_MASTER_PASSWORD to use the key ring'
    )
  }
  const path = keyRingPath(cfg.dataDir)
  return openKeyRing(path, cfg.masterPassword).catch((err: unknown) => {
    if (!(err instanceof KeyRingNotFoundError)) throw err
    throw new KeyRingNotFoundError(
      `no key ring at ${path}: run \`dmn keys init\` to create it (it keeps the node's Ethereum key), or set DMN_CHAIN_PRIVATE_KEY`,
      { cause: err }
    )
  })
}
