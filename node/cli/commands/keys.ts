import type { Command } from 'commander'
import { MissingMasterPasswordError, UsageError } from '../../core/errors.ts'
import {
  createKeyRing,
  destroyRetiredVersions,
  type KeyRing,
  keyFingerprint,
  keyRingPath,
  keyRingStatus,
  lockKeyRing,
  openKeyRing,
  readDatamgmtKeyFile,
  rewrapRecords,
  rsaKeyBits,
  type StoredRecords,
  setMinimumDecryptionVersion
} from '../../crypto/index.ts'
import { RecordRepository } from '../../store/records.ts'
import type { CliContext } from '../context.ts'
import { withDatabase } from '../database.ts'
import { printJsonObject } from '../json-output.ts'

/** `dmn keys ...`: the key ring (create, status, rotate, retire, rewrap, destroy, import, re-key). */

function password(ctx: CliContext): string {
  const pw = ctx.config().masterPassword
  if (pw === undefined) throw new MissingMasterPasswordError()
  return pw
}

function envSecret(name: string): string {
  const value = process.env[name]
  if (!value) throw new UsageError(`environment variable ${name} is not set`)
  return value
}

function positiveInt(text: string, what: string): number {
  const n = Number(text)
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`${what} must be a positive integer`)
  return n
}

/**
 * Runs `fn` with the ring unlocked and the records open. Changes take the ring's lock so they
 * cannot race a running node; read-only commands (`readOnly`) do not need it.
 */
async function withRing<T>(
  ctx: CliContext,
  fn: (ring: KeyRing, records: StoredRecords) => Promise<T> | T,
  opts: { readOnly?: boolean } = {}
): Promise<T> {
  const cfg = ctx.config()
  const path = keyRingPath(cfg.dataDir)
  const release = opts.readOnly ? () => {} : lockKeyRing(path)
  try {
    const ring = await openKeyRing(path, password(ctx))
    try {
      return await withDatabase(ctx, (db) => fn(ring, new RecordRepository(db, ring)))
    } finally {
      ring.close()
    }
  } finally {
    release()
  }
}

export function registerKeysCommands(program: Command, ctx: CliContext): void {
  const keys = program.command('keys').description('the key ring: data keys, identity keys, secrets')

  keys
    .command('init')
    .description('create the key ring with data key version 1 and new identity keys')
    .action(async () => {
      const cfg = ctx.config()
      const path = keyRingPath(cfg.dataDir)
      const release = lockKeyRing(path)
      try {
        const ring = await createKeyRing(path, password(ctx), {
          iterations: cfg.crypto.pbkdf2Iterations,
          signingKeyBits: cfg.crypto.signingKeyBits,
          encryptionKeyBits: cfg.crypto.encryptionKeyBits
        })
        ctx.print(`created ${path}`)
        ctx.print(`signing key    ${keyFingerprint(ring.identity.signing.publicKeyPem)}`)
        ctx.print(`encryption key ${keyFingerprint(ring.identity.encryption.publicKeyPem)}`)
        ring.close()
      } finally {
        release()
      }
    })

  keys
    .command('status')
    .description('versions, primary, minimum decryption version and records per version')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      await withRing(
        ctx,
        (ring, records) => {
          const s = keyRingStatus(ring, records)
          if (opts.json) return printJsonObject(ctx, s)
          ctx.print(`key ring ${s.path}`)
          ctx.print(`primary ${s.primaryVersion}  minimum decryption version ${s.minimumDecryptionVersion}`)
          ctx.print(`kdf ${s.kdf.algorithm}, ${s.kdf.iterations} iterations`)
          ctx.print('version  state      records  created')
          for (const v of s.versions) {
            ctx.print(
              `${String(v.version).padStart(7)}  ${v.state.padEnd(9)}  ${String(v.items).padStart(7)}  ${v.createdAt}${v.origin ? `  (${v.origin})` : ''}`
            )
          }
          ctx.print(`records to rewrap: ${s.itemsToRewrap}`)
        },
        { readOnly: true }
      )
    })

  keys
    .command('show')
    .description('the identity public keys and their fingerprints')
    .action(async () => {
      await withRing(
        ctx,
        (ring) => {
          for (const [label, pair] of Object.entries(ring.identity)) {
            ctx.print(
              `${label} key: RSA-${rsaKeyBits(pair.publicKeyPem)} ${keyFingerprint(pair.publicKeyPem)}`
            )
            ctx.print(pair.publicKeyPem.trimEnd())
          }
        },
        { readOnly: true }
      )
    })

  keys
    .command('rotate')
    .description('add a data key version and make it primary')
    .action(async () => {
      await withRing(ctx, async (ring) => ctx.print(`primary is now version ${await ring.rotate()}`))
    })

  keys
    .command('set-minimum <version>')
    .description('retire versions below <version> (refused while records use them, unless --force)')
    .option('--force', 'retire even though records still use older versions')
    .action(async (version: string, opts: { force?: boolean }) => {
      const v = positiveInt(version, 'version')
      await withRing(ctx, async (ring, records) => {
        await setMinimumDecryptionVersion(ring, records, v, { force: opts.force ?? false })
        ctx.print(`minimum decryption version is now ${v}`)
      })
    })

  keys
    .command('rewrap')
    .description('re-encrypt stored records under the primary key, in batches (resumable)')
    .option('--batch-size <n>', 'records per transaction', '256')
    .action(async (opts: { batchSize: string }) => {
      const batchSize = positiveInt(opts.batchSize, '--batch-size')
      const tty = process.stderr.isTTY
      await withRing(ctx, async (ring, records) => {
        const result = await rewrapRecords(ring, records, {
          batchSize,
          onProgress: ({ done, total, failed }) => {
            const pct = total === 0 ? 100 : Math.floor((done / total) * 100)
            const line = `rewrap ${done}/${total} (${pct}%)${failed ? `, ${failed} failed` : ''}`
            process.stderr.write(tty ? `\r${line}` : `${line}\n`)
          }
        })
        if (tty) process.stderr.write('\n')
        ctx.print(`rewrapped ${result.rewrapped} record(s) to version ${result.primaryVersion}`)
        for (const f of result.failed)
          ctx.print(`record ${f.id} (version ${f.keyVersion}) failed: ${f.error}`)
        if (result.failed.length > 0) process.exitCode = 1
      })
    })

  keys
    .command('destroy-retired')
    .description(
      'destroy the key material of retired versions (refused while records use them, unless --force)'
    )
    .option('--force', 'destroy even though records still use them (they become unreadable)')
    .action(async (opts: { force?: boolean }) => {
      await withRing(ctx, async (ring, records) => {
        const destroyed = await destroyRetiredVersions(ring, records, { force: opts.force ?? false })
        ctx.print(
          destroyed.length ? `destroyed version(s) ${destroyed.join(', ')}` : 'no retired version to destroy'
        )
      })
    })

  keys
    .command('import')
    .description("import data keys from DataMgmt Node's encryption_keys.json")
    .requiredOption('--from-datamgmt <file>', 'the DataMgmt Node key file')
    .option(
      '--source-password-env <name>',
      'variable holding that file password (default: the master password)'
    )
    .action(async (opts: { fromDatamgmt: string; sourcePasswordEnv?: string }) => {
      const sourcePassword = opts.sourcePasswordEnv ? envSecret(opts.sourcePasswordEnv) : password(ctx)
      const file = await readDatamgmtKeyFile(opts.fromDatamgmt, sourcePassword)
      await withRing(ctx, async (ring) => {
        const mapping = await ring.importDataKeys(file.keys, 'datamgmt')
        for (const [theirs, ours] of mapping)
          ctx.print(`DataMgmt Node key version ${theirs} -> version ${ours}`)
        ctx.print(`primary is now version ${ring.primaryVersion} (a new key of this node)`)
      })
    })

  keys
    .command('change-password')
    .description('re-encrypt the key ring under a new master password and/or more PBKDF2 iterations')
    .requiredOption('--new-password-env <name>', 'variable holding the new password')
    .option('--iterations <n>', 'PBKDF2 iterations (>= 600000)')
    .action(async (opts: { newPasswordEnv: string; iterations?: string }) => {
      const next = envSecret(opts.newPasswordEnv)
      const iterations =
        opts.iterations === undefined ? undefined : positiveInt(opts.iterations, '--iterations')
      await withRing(ctx, async (ring) => {
        await ring.changePassword(next, iterations === undefined ? {} : { iterations })
        ctx.print(`key ring re-encrypted (${ring.kdf.iterations} iterations)`)
      })
    })
}
