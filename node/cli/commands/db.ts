import type { Command } from 'commander'
import { openDatabase } from '../../store/database.ts'
import { migrate, migrationStatus } from '../../store/migrations.ts'
import { databasePath } from '../../store/store-service.ts'
import type { CliContext } from '../context.ts'

/** `dmn db migrate` and `dmn db status`. */
export function registerDbCommands(program: Command, ctx: CliContext): void {
  const db = program.command('db').description('the node database')
  db.command('migrate')
    .description('apply pending migrations')
    .action(() => {
      const cfg = ctx.config()
      const handle = openDatabase(databasePath(cfg.dataDir), cfg.store)
      try {
        const applied = migrate(handle)
        if (applied.length === 0) ctx.print('database is up to date')
        for (const m of applied) ctx.print(`applied ${String(m.version).padStart(4, '0')}_${m.name}`)
      } finally {
        handle.close()
      }
    })
  db.command('status')
    .description('list migrations and whether each is applied')
    .action(() => {
      const cfg = ctx.config()
      const handle = openDatabase(databasePath(cfg.dataDir), cfg.store)
      try {
        for (const m of migrationStatus(handle)) {
          ctx.print(
            `${String(m.version).padStart(4, '0')}_${m.name}  ${m.state}${m.appliedAt ? `  ${m.appliedAt}` : ''}`
          )
        }
      } finally {
        handle.close()
      }
    })
}
