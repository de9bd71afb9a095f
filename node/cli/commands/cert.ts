import { readFileSync } from 'node:fs'
import type { Command } from 'commander'
import { MissingMasterPasswordError, UsageError } from '../../core/errors.ts'
import {
  atomicWriteFileSync,
  createCaCertificate,
  createNodeCertificate,
  createNodeCsr,
  generateRsaKeyPair,
  issueNodeCertificate,
  type KeyRing,
  keyFingerprint,
  keyRingPath,
  lockKeyRing,
  openKeyRing,
  type ParsedNodeCertificate,
  parseNodeCertificate,
  verifyNodeCertificate
} from '../../crypto/index.ts'
import type { CliContext } from '../context.ts'

/** `dmn cert ...`: node certificates, CSRs and a consortium CA. */

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    throw new UsageError(`cannot read ${path}: ${(err as Error).message}`)
  }
}

/** Certificates are public: 0644. Private keys: 0600. */
function output(ctx: CliContext, pem: string, out: string | undefined, mode = 0o644): void {
  if (out) atomicWriteFileSync(out, pem, { mode })
  else ctx.print(pem.trimEnd())
}

async function withNodeIdentity<T>(ctx: CliContext, fn: (ring: KeyRing, peerId: string) => T): Promise<T> {
  const cfg = ctx.config()
  if (cfg.masterPassword === undefined) throw new MissingMasterPasswordError()
  const path = keyRingPath(cfg.dataDir)
  const release = lockKeyRing(path)
  try {
    const ring = await openKeyRing(path, cfg.masterPassword)
    try {
      // The PeerId the node will have: its libp2p key lives in the ring (created now if the node never
      // ran). Loaded lazily so other commands do not pay for importing libp2p.
      const { loadOrCreateIdentity } = await import('../../p2p/libp2p-node.ts')
      const { peerIdFromPrivateKey } = await import('@libp2p/peer-id')
      const peerId = peerIdFromPrivateKey(await loadOrCreateIdentity(ring)).toString()
      return fn(ring, peerId)
    } finally {
      ring.close()
    }
  } finally {
    release()
  }
}

function describe(ctx: CliContext, c: ParsedNodeCertificate): void {
  ctx.print(`peer id         ${c.peerId}`)
  ctx.print(`subject         ${c.subject}`)
  ctx.print(`issuer          ${c.issuer}${c.selfSigned ? ' (self-signed)' : ''}`)
  ctx.print(`serial          ${c.serialNumber}`)
  ctx.print(`valid           ${c.notBefore.toISOString()} .. ${c.notAfter.toISOString()}`)
  ctx.print(`signing key     ${keyFingerprint(c.signingPublicKeyPem)}`)
  ctx.print(`encryption key  ${keyFingerprint(c.encryptionPublicKeyPem)}`)
  if (c.ethAddress) ctx.print(`eth address     ${c.ethAddress}`)
  ctx.print(`fingerprint     ${c.fingerprint}`)
}

export function registerCertCommands(program: Command, ctx: CliContext): void {
  const cert = program.command('cert').description('node certificates, CSRs and a consortium CA')

  cert
    .command('csr')
    .description("this node's certificate signing request, for a consortium CA")
    .option('--eth-address <address>', 'Ethereum address to bind in the certificate')
    .option('-o, --out <file>', 'write the PEM to a file')
    .action(async (opts: { ethAddress?: string; out?: string }) => {
      const pem = await withNodeIdentity(ctx, (ring, peerId) =>
        createNodeCsr({
          peerId,
          signingPrivateKeyPem: ring.identity.signing.privateKeyPem,
          encryptionPublicKeyPem: ring.identity.encryption.publicKeyPem,
          ...(opts.ethAddress ? { ethAddress: opts.ethAddress } : {})
        })
      )
      output(ctx, pem, opts.out)
    })

  cert
    .command('self-signed')
    .description("this node's self-signed certificate")
    .option('--eth-address <address>', 'Ethereum address to bind in the certificate')
    .option('--days <n>', 'validity in days', '365')
    .option('-o, --out <file>', 'write the PEM to a file')
    .action(async (opts: { ethAddress?: string; days: string; out?: string }) => {
      const pem = await withNodeIdentity(ctx, (ring, peerId) =>
        createNodeCertificate({
          peerId,
          signingPublicKeyPem: ring.identity.signing.publicKeyPem,
          encryptionPublicKeyPem: ring.identity.encryption.publicKeyPem,
          issuerPrivateKeyPem: ring.identity.signing.privateKeyPem,
          validDays: Number(opts.days),
          ...(opts.ethAddress ? { ethAddress: opts.ethAddress } : {})
        })
      )
      output(ctx, pem, opts.out)
    })

  cert
    .command('ca')
    .description('create a consortium CA: a new RSA key (0600) and a self-signed CA certificate')
    .requiredOption('--name <cn>', 'CA common name')
    .requiredOption('--key-out <file>', 'where to write the CA private key')
    .requiredOption('--cert-out <file>', 'where to write the CA certificate')
    .option('--days <n>', 'validity in days', '3650')
    .action(async (opts: { name: string; keyOut: string; certOut: string; days: string }) => {
      const key = await generateRsaKeyPair(3072)
      atomicWriteFileSync(opts.keyOut, key.privateKeyPem, { mode: 0o600 })
      const pem = createCaCertificate({
        commonName: opts.name,
        privateKeyPem: key.privateKeyPem,
        validDays: Number(opts.days)
      })
      output(ctx, pem, opts.certOut)
      ctx.print(`CA certificate ${opts.certOut}, key ${opts.keyOut}`)
    })

  cert
    .command('issue')
    .description('issue a node certificate from a CSR with a consortium CA')
    .requiredOption('--csr <file>', 'the node CSR')
    .requiredOption('--ca-key <file>', 'the CA private key')
    .requiredOption('--ca-cert <file>', 'the CA certificate')
    .option('--days <n>', 'validity in days', '365')
    .option('-o, --out <file>', 'write the PEM to a file')
    .action((opts: { csr: string; caKey: string; caCert: string; days: string; out?: string }) => {
      const pem = issueNodeCertificate({
        csrPem: read(opts.csr),
        caPrivateKeyPem: read(opts.caKey),
        caCertificatePem: read(opts.caCert),
        validDays: Number(opts.days)
      })
      output(ctx, pem, opts.out)
    })

  cert
    .command('show <file>')
    .description("a node certificate's fields")
    .action((file: string) => describe(ctx, parseNodeCertificate(read(file))))

  cert
    .command('verify <file>')
    .description('verify a node certificate: dates, key usage, and its chain to --ca (or its self-signature)')
    .option('--ca <file...>', 'trusted consortium CA certificate(s)')
    .option('--intermediate <file...>', 'intermediate CA certificate(s)')
    .action((file: string, opts: { ca?: string[]; intermediate?: string[] }) => {
      const parsed = verifyNodeCertificate(read(file), {
        caCertificatePems: (opts.ca ?? []).map(read),
        intermediatePems: (opts.intermediate ?? []).map(read)
      })
      describe(ctx, parsed)
      ctx.print(opts.ca?.length ? 'OK: chains to a trusted CA' : 'OK: valid self-signed certificate')
    })
}
