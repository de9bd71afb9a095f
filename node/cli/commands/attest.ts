import { readFileSync, writeFileSync } from 'node:fs'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Command } from 'commander'
import {
  akFingerprint,
  enrol,
  parseAkPublicKey,
  parsePublic,
  policyFromValues,
  Tpm2Tools
} from '../../attest/index.ts'
import { UsageError } from '../../core/errors.ts'
import { EnrolmentRepository } from '../../store/enrolments.ts'
import type { CliContext } from '../context.ts'
import { withDatabase } from '../database.ts'
import { printJsonArray, printJsonObject } from '../json-output.ts'

/**
 * `dmn attest`: the operator's side of TPM attestation. On a recipient: `show-ak` exports its
 * attestation key, `baseline` writes its current PCRs as a policy. On a sender: `enroll` pins a
 * peer's AK, `list` and `remove` manage the pins. Enrolments live in the database, so a running
 * node sees them at its next attestation.
 */
export function registerAttestCommands(program: Command, ctx: CliContext): void {
  const attest = program
    .command('attest')
    .description('TPM attestation for the maximum tier: AK export, enrolment, PCR baseline')

  const tpm = () => {
    const { tcti, akHandle, akAlgorithm, commandTimeoutMs } = ctx.config().attest
    return new Tpm2Tools({ tcti, akHandle, akAlgorithm, timeoutMs: commandTimeoutMs })
  }
  const withEnrolments = <T>(fn: (repo: EnrolmentRepository) => T): T =>
    withDatabase(ctx, (db) => fn(new EnrolmentRepository(db)))
  const parsePeerId = (value: string): string => {
    try {
      return peerIdFromString(value).toString()
    } catch (err) {
      throw new UsageError(`not a PeerId: ${value}`, { cause: err })
    }
  }

  attest
    .command('show-ak')
    .description(
      "this node's attestation key (PEM), created in the TPM on first use; give it to senders' operators"
    )
    .option('--json', 'handle, algorithm, fingerprint, PEM and the TPM2B_PUBLIC in base64')
    .action(async (opts: { json?: boolean }) => {
      const { akHandle, akAlgorithm } = ctx.config().attest
      const raw = await tpm().ensureAk()
      const key = parsePublic(raw).key
      const pem = key.export({ type: 'spki', format: 'pem' }).toString()
      if (opts.json) {
        const tpm2bPublic = Buffer.from(raw).toString('base64')
        printJsonObject(ctx, {
          handle: akHandle,
          algorithm: akAlgorithm,
          fingerprint: akFingerprint(key),
          pem,
          tpm2b_public: tpm2bPublic
        })
      } else {
        ctx.print(pem.trimEnd())
      }
    })

  attest
    .command('baseline')
    .description("this node's PCRs sha256:0,7,10 as a policy file (run on a known-good machine)")
    .option('-o, --out <file>', 'write the policy here instead of stdout')
    .action(async (opts: { out?: string }) => {
      const values = await tpm().pcrRead()
      const hex = new Map([...values].map(([pcr, v]) => [pcr, Buffer.from(v).toString('hex')]))
      const text = `${JSON.stringify(policyFromValues(hex), null, 2)}\n`
      if (opts.out) {
        writeFileSync(opts.out, text, { mode: 0o644 })
        ctx.print(`wrote ${opts.out}`)
      } else {
        ctx.print(text.trimEnd())
      }
    })

  attest
    .command('enroll <peerId> <akFile>')
    .description("pin a peer's attestation key (PEM from its `dmn attest show-ak`, or a TPM2B_PUBLIC file)")
    .action((peer: string, akFile: string) => {
      const peerId = parsePeerId(peer)
      let bytes: Buffer
      try {
        bytes = readFileSync(akFile)
      } catch (err) {
        throw new UsageError(`cannot read ${akFile}`, { cause: err })
      }
      const enrolment = withEnrolments((repo) => enrol(repo, peerId, parseAkPublicKey(bytes)))
      ctx.print(`enrolled ${peerId} AK ${enrolment.akFingerprint}`)
    })

  attest
    .command('list')
    .description('enrolled peers and the fingerprints of their AKs')
    .option('--json', 'print one JSON array')
    .action((opts: { json?: boolean }) => {
      const all = withEnrolments((repo) => repo.list())
      if (opts.json) {
        printJsonArray(
          ctx,
          all.map((e) => ({ peerId: e.peerId, akFingerprint: e.akFingerprint, enrolledAt: e.enrolledAt }))
        )
        return
      }
      if (all.length === 0) ctx.print('no AK enrolled')
      for (const e of all) ctx.print(`${e.peerId}  ${e.akFingerprint}  ${e.enrolledAt}`)
    })

  attest
    .command('remove <peerId>')
    .description("forget a peer's AK: maximum-tier shares to it are refused until it is enrolled again")
    .action((peer: string) => {
      const peerId = parsePeerId(peer)
      if (!withEnrolments((repo) => repo.remove(peerId)))
        throw new UsageError(`no AK is enrolled for ${peerId}`)
      ctx.print(`removed ${peerId}`)
    })
}
