import { createPublicKey, type KeyObject } from 'node:crypto'
import type { Enrolment, EnrolmentRepository } from '../store/enrolments.ts'
import { AkNotRestrictedError, AttestationMalformedError } from './errors.ts'
import { isAttestationKey, parsePublic } from './tpm-structures.ts'
import { akFingerprint } from './verify-quote.ts'

export type { Enrolment }

/**
 * Reads an AK public key as exported by `dmn attest show-ak` (PEM), or as the TPM marshals it
 * (TPM2B_PUBLIC, `tpm2_readpublic -f tss`); the latter is also checked to be an attestation key.
 */
export function parseAkPublicKey(bytes: Uint8Array): KeyObject {
  const text = Buffer.from(bytes).toString('utf8')
  if (text.includes('-----BEGIN')) {
    let key: KeyObject
    try {
      key = createPublicKey(text)
    } catch (err) {
      throw new AttestationMalformedError('not a PEM public key', { cause: err })
    }
    if (key.asymmetricKeyType !== 'rsa' && key.asymmetricKeyType !== 'ec')
      throw new AttestationMalformedError(`an AK is RSA or ECC, not ${key.asymmetricKeyType}`)
    return key
  }
  const pub = parsePublic(bytes)
  if (!isAttestationKey(pub))
    throw new AkNotRestrictedError('the key is not a restricted, fixedTPM signing key')
  return pub.key
}

/**
 * Pins `key` as the AK of `peerId` in `enrolments`, replacing an earlier enrolment (the operator
 * re-enrols on a TPM swap).
 */
export function enrol(enrolments: EnrolmentRepository, peerId: string, key: KeyObject): Enrolment {
  const enrolment: Enrolment = {
    peerId,
    akFingerprint: akFingerprint(key),
    akPublicPem: key.export({ type: 'spki', format: 'pem' }).toString(),
    enrolledAt: new Date().toISOString()
  }
  enrolments.put(enrolment)
  return enrolment
}
