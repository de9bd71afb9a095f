import type { Command } from 'commander'
import { migrate, migrationStatus } from '../../store/migrations.ts'
import type { CliContext } from '../context.ts'
import { withDatabase } from '../database.ts'
import { printJsonArray } from '../json-output.ts'

/** `dmn db migrate` and `dmn db status`. */
export function registerDbCommands(program: Command, ctx: CliContext): void {
  const db = program.command('db').description('the node database')
  db.command('migrate')
    .description('apply pending migrations')
    .action(() => {
      withDatabase(
        ctx,
        (handle) => {
          const applied = migrate(handle)
          if (applied.length === 0) ctx.print('database is up to date')
          for (const m of applied) ctx.print(`applied ${String(m.version).padStart(4, '0')}_${m.name}`)
        },
        { migrate: false }
      )
    })
  db.command('status')
    .description('list migrations and whether each is applied')
    .option('--json', 'print one JSON array')
    .action((opts: { json?: boolean }) => {
      withDatabase(
        ctx,
        (handle) => {
          const all = migrationStatus(handle)
          if (opts.json)
            return printJsonArray(
              ctx,
              all.map((m) => ({ ...m, appliedAt: m.appliedAt ?? null }))
            )
          for (const m of all) {
            ctx.print(
              `${String(m.version).padStart(4, '0')}_${m.name}  ${m.state}${m.appliedAt ? `  ${m.appliedAt}` : ''}`
            )
          }
        },
        { migrate: false }
      )
    })
}
