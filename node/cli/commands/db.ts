import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import type { Command } from 'commander'
import { keyRingPath } from '../../crypto/index.ts'
import { backupDatabase } from '../../store/backup.ts'
import { openDatabase } from '../../store/database.ts'
import { DatabaseOpenError } from '../../store/errors.ts'
import { migrate, migrationStatus } from '../../store/migrations.ts'
import { databasePath } from '../../store/store-service.ts'
import type { CliContext } from '../context.ts'
import { withDatabase } from '../database.ts'
import { printJsonArray } from '../json-output.ts'

/** `dmn db migrate`, `dmn db status` and `dmn db backup`. */
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
  db.command('backup <file>')
    .description('copy the database to <file> while the node runs (consistent snapshot, checked, mode 0600)')
    .option('--force', 'replace <file> if it exists')
    .action(async (file: string, opts: { force?: boolean }) => {
      const cfg = ctx.config()
      const source = databasePath(cfg.dataDir)
      if (!existsSync(source))
        throw new DatabaseOpenError(
          `no database at ${source}: set --data-dir (DMN_DATA_DIR) to the node's data directory`
        )
      // Read-only: the backup never changes the database it copies, nor migrates it.
      const handle = openDatabase(source, { ...cfg.store, readonly: true })
      try {
        const done = await backupDatabase(handle, resolve(file), { overwrite: opts.force === true })
        ctx.print(
          `backed up ${source} to ${done.file}: ${done.pages} pages, ${done.bytes} bytes, schema version ${done.schemaVersion}`
        )
        ctx.print(
          `the records in it open only with the key ring: back up ${keyRingPath(cfg.dataDir)} too (README "Backup and restore")`
        )
      } finally {
        handle.close()
      }
    })
}
