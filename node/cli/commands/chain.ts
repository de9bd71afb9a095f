import type { Command } from 'commander'
import { connectChain, nodeWallet, requireRpc } from '../../audit/cli-support.ts'
import { deployAuditTrail, SecurityLog, writeChainRecord } from '../../audit/index.ts'
import { auditRepositories } from '../../store/audit-repositories.ts'
import { SecurityLogRepository } from '../../store/security-log.ts'
import type { CliContext } from '../context.ts'
import { withDatabase } from '../database.ts'

/** `dmn chain deploy` and `dmn chain status`. */
export function registerChainCommands(program: Command, ctx: CliContext): void {
  const chain = program.command('chain').description('the audit contract on the configured chain')
  chain
    .command('deploy')
    .description('deploy AuditTrail from the node account and record it in <dataDir>/chain.json')
    .action(async () => {
      const cfg = ctx.config()
      const rpc = requireRpc(cfg)
      const wallet = await nodeWallet(cfg)
      const record = await deployAuditTrail(rpc, wallet)
      const path = writeChainRecord(cfg.dataDir, record)
      withDatabase(ctx, (db) =>
        new SecurityLog(new SecurityLogRepository(db)).append('chain.deployed', { ...record })
      )
      ctx.print(JSON.stringify({ ...record, account: wallet.address, recordedIn: path }))
    })
  chain
    .command('status')
    .description('check the configured contract (bytecode) and show the node account')
    .action(async () => {
      const cfg = ctx.config()
      await withDatabase(ctx, async (db) => {
        const c = await connectChain(cfg, auditRepositories(db))
        const head = await c.rpc.call<string>('eth_blockNumber', [])
        ctx.print(
          JSON.stringify({
            // Provider URLs often carry an API key (path or credentials): show the origin only.
            rpc: new URL(c.rpc.url).origin,
            chainId: c.chainId,
            contract: c.contractAddress,
            bytecode: 'ok',
            deployBlock: c.deployBlock,
            head: Number(BigInt(head)),
            account: c.account ?? null
          })
        )
      })
    })
}
