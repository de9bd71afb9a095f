import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto'
import { ECC_CURVES, HASH_ALGORITHMS, TPM_ALG, TPMA_OBJECT } from './constants.ts'
import { AttestationMalformedError, UnsupportedAlgorithmError } from './errors.ts'
import { TpmReader } from './tpm-reader.ts'

/** Parsers of the TPM 2.0 structures a quote is made of (TCG TPM 2.0 Library, Part 2). */

/** One bank of a TPML_PCR_SELECTION: hash algorithm and PCR indexes in ascending order. */
export interface PcrSelection {
  readonly hashAlg: number
  readonly pcrs: readonly number[]
}

/** A parsed TPMS_ATTEST of type quote. */
export interface TpmsAttest {
  readonly magic: number
  readonly type: number
  readonly qualifiedSigner: Uint8Array
  readonly extraData: Uint8Array
  readonly clockInfo: {
    readonly clock: bigint
    readonly resetCount: number
    readonly restartCount: number
    readonly safe: boolean
  }
  readonly firmwareVersion: bigint
  /** Present when `type` is TPM_ST_ATTEST_QUOTE. */
  readonly quote?: { readonly pcrSelect: readonly PcrSelection[]; readonly pcrDigest: Uint8Array }
}

/** A parsed TPMT_SIGNATURE of a supported scheme. */
export type TpmtSignature =
  | { readonly sigAlg: 0x0014 | 0x0016; readonly hashAlg: number; readonly sig: Uint8Array }
  | { readonly sigAlg: 0x0018; readonly hashAlg: number; readonly r: Uint8Array; readonly s: Uint8Array }

/** A parsed TPMT_PUBLIC: the key as node:crypto sees it, and what the TPM says about it. */
export interface TpmtPublic {
  readonly type: number
  readonly nameAlg: number
  readonly objectAttributes: number
  readonly key: KeyObject
  /** The marshalled TPMT_PUBLIC. */
  readonly marshalled: Uint8Array
}

/**
 * Parses a TPMS_ATTEST as returned by TPM2_Quote (`tpm2_quote -m`). Magic and type are returned,
 * not judged here: the verifier refuses them with their own errors.
 */
export function parseAttest(bytes: Uint8Array): TpmsAttest {
  const r = new TpmReader(bytes, 'TPMS_ATTEST')
  const magic = r.u32()
  const type = r.u16()
  const qualifiedSigner = r.sized()
  const extraData = r.sized()
  const clockInfo = { clock: r.u64(), resetCount: r.u32(), restartCount: r.u32(), safe: r.u8() === 1 }
  const firmwareVersion = r.u64()
  const base = { magic, type, qualifiedSigner, extraData, clockInfo, firmwareVersion }
  if (type !== 0x8018) return base
  const pcrSelect = parsePcrSelection(r)
  const pcrDigest = r.sized()
  r.end()
  return { ...base, quote: { pcrSelect, pcrDigest } }
}

function parsePcrSelection(r: TpmReader): PcrSelection[] {
  const count = r.u32()
  // TPM 2.0 Part 2: at most HASH_COUNT banks; more is not a selection a TPM produces.
  if (count > 16) throw new AttestationMalformedError(`PCR selection of ${count} banks`)
  const banks: PcrSelection[] = []
  for (let i = 0; i < count; i++) {
    const hashAlg = r.u16()
    const select = r.bytes(r.u8())
    const pcrs: number[] = []
    select.forEach((byte, index) => {
      for (let bit = 0; bit < 8; bit++) if (byte & (1 << bit)) pcrs.push(index * 8 + bit)
    })
    banks.push({ hashAlg, pcrs })
  }
  return banks
}

/** Parses a TPMT_SIGNATURE (`tpm2_quote -s`, tss format): RSASSA, RSAPSS or ECDSA. */
export function parseSignature(bytes: Uint8Array): TpmtSignature {
  const r = new TpmReader(bytes, 'TPMT_SIGNATURE')
  const sigAlg = r.u16()
  let signature: TpmtSignature
  if (sigAlg === TPM_ALG.RSASSA || sigAlg === TPM_ALG.RSAPSS) {
    signature = { sigAlg, hashAlg: r.u16(), sig: r.sized() }
  } else if (sigAlg === TPM_ALG.ECDSA) {
    signature = { sigAlg, hashAlg: r.u16(), r: r.sized(), s: r.sized() }
  } else {
    throw new UnsupportedAlgorithmError(`signature algorithm 0x${sigAlg.toString(16)} is not supported`)
  }
  r.end()
  if (!HASH_ALGORITHMS.has(signature.hashAlg))
    throw new UnsupportedAlgorithmError(`hash algorithm 0x${signature.hashAlg.toString(16)} is not supported`)
  return signature
}

/** Parses a TPM2B_PUBLIC (`tpm2_readpublic -f tss`) of an RSA or ECC key. */
export function parsePublic(bytes: Uint8Array): TpmtPublic {
  const outer = new TpmReader(bytes, 'TPM2B_PUBLIC')
  const inner = outer.sized()
  outer.end()
  const r = new TpmReader(inner, 'TPMT_PUBLIC')
  const type = r.u16()
  if (type !== TPM_ALG.RSA && type !== TPM_ALG.ECC)
    throw new UnsupportedAlgorithmError(`key type 0x${type.toString(16)} is not supported`)
  const nameAlg = r.u16()
  const objectAttributes = r.u32()
  r.sized() // authPolicy
  skipSymmetric(r)
  let key: KeyObject
  if (type === TPM_ALG.RSA) {
    skipScheme(r)
    r.u16() // keyBits: the modulus below is authoritative
    const exponent = r.u32() || 65_537
    const modulus = r.sized()
    key = keyFromJwk({ kty: 'RSA', n: base64url(modulus), e: base64url(unsigned(exponent)) })
  } else {
    skipScheme(r)
    const curveId = r.u16()
    const curve = ECC_CURVES.get(curveId)
    if (!curve) throw new UnsupportedAlgorithmError(`ECC curve 0x${curveId.toString(16)} is not supported`)
    skipScheme(r) // kdf
    const x = r.sized()
    const y = r.sized()
    const point = { x: base64url(leftPad(x, curve.size)), y: base64url(leftPad(y, curve.size)) }
    key = keyFromJwk({ kty: 'EC', crv: curve.jwk, ...point })
  }
  r.end()
  return { type, nameAlg, objectAttributes, key, marshalled: inner }
}

/** True when the key is a restricted, TPM-bound signing key: only then is a quote it signs the TPM's. */
export function isAttestationKey(pub: TpmtPublic): boolean {
  const a = pub.objectAttributes
  const required = TPMA_OBJECT.fixedTPM | TPMA_OBJECT.fixedParent | TPMA_OBJECT.restricted | TPMA_OBJECT.sign
  return (a & required) === required && (a & TPMA_OBJECT.decrypt) === 0
}

function keyFromJwk(jwk: JsonWebKey): KeyObject {
  try {
    return createPublicKey({ key: jwk, format: 'jwk' })
  } catch (err) {
    throw new AttestationMalformedError('the TPMT_PUBLIC does not hold a valid public key', { cause: err })
  }
}

function skipSymmetric(r: TpmReader): void {
  // TPMT_SYM_DEF_OBJECT: an algorithm, then key bits and mode unless it is TPM_ALG_NULL.
  if (r.u16() !== TPM_ALG.NULL) {
    r.u16()
    r.u16()
  }
}

function skipScheme(r: TpmReader): void {
  const scheme = r.u16()
  if (scheme === TPM_ALG.NULL) return
  r.u16() // hashAlg
  if (scheme === TPM_ALG.ECDAA) r.u16() // count
}

function unsigned(n: number): Uint8Array {
  const out = new Uint8Array(4)
  new DataView(out.buffer).setUint32(0, n)
  let start = 0
  while (start < 3 && out[start] === 0) start++
  return out.subarray(start)
}

function leftPad(bytes: Uint8Array, size: number): Uint8Array {
  if (bytes.byteLength > size) throw new AttestationMalformedError('ECC coordinate longer than its curve')
  const out = new Uint8Array(size)
  out.set(bytes, size - bytes.byteLength)
  return out
}

function base64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url')
}
