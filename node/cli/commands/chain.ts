import type { Command } from 'commander'
import type { KeyRing } from '../../crypto/index.ts'
import { auditServiceOver, openEthKeyRing } from '../audit-service.ts'
import type { CliContext } from '../context.ts'
import { lazyDatabase, withDatabase } from '../database.ts'
import { printJsonObject } from '../json-output.ts'

/** `dmn chain deploy` and `dmn chain status`. */
export function registerChainCommands(program: Command, ctx: CliContext): void {
  const chain = program.command('chain').description('the audit contract on the configured chain')
  chain
    .command('deploy')
    .description('deploy AuditTrail from the node account and record it in <dataDir>/chain.json')
    .action(async () => {
      // The database and the key ring are opened only when the deployment needs them.
      const store = lazyDatabase(ctx)
      let ring: KeyRing | undefined
      try {
        const service = auditServiceOver(ctx, store.db, async () => {
          ring = await openEthKeyRing(ctx)
          return ring
        })
        const { record, account, recordedIn } = await service.deploy()
        printJsonObject(ctx, { ...record, account, recordedIn })
      } finally {
        ring?.close()
        store.close()
      }
    })
  chain
    .command('status')
    .description('check the configured contract (bytecode) and show the node account')
    .action(() =>
      withDatabase(ctx, async (db) => {
        const service = auditServiceOver(ctx, () => db)
        await service.connect()
        const head = await service.blockNumber()
        printJsonObject(ctx, {
          // Provider URLs often carry an API key (path or credentials): show the origin only.
          rpc: new URL(service.rpcUrl as string).origin,
          chainId: service.chainId,
          contract: service.contractAddress,
          bytecode: 'ok',
          deployBlock: service.deployBlock,
          head,
          account: service.account ?? null
        })
      })
    )
}
