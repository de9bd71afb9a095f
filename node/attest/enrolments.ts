import { createPublicKey, type KeyObject } from 'node:crypto'
import type { Db } from '../store/database.ts'
import { AkNotRestrictedError, AttestationMalformedError } from './errors.ts'
import { isAttestationKey, parsePublic } from './tpm-structures.ts'
import { akFingerprint } from './verify-quote.ts'

/** An AK the operator pinned for a peer. */
export interface Enrolment {
  readonly peerId: string
  readonly akFingerprint: string
  readonly akPublicPem: string
  readonly enrolledAt: string
}

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

/** The `attest_enrolments` table (migration 0006). */
export class EnrolmentRepository {
  readonly #db: Db

  constructor(db: Db) {
    this.#db = db
  }

  /** Pins `key` as the AK of `peerId`, replacing an earlier enrolment (the operator re-enrols on a TPM swap). */
  enrol(peerId: string, key: KeyObject): Enrolment {
    const enrolment: Enrolment = {
      peerId,
      akFingerprint: akFingerprint(key),
      akPublicPem: key.export({ type: 'spki', format: 'pem' }).toString(),
      enrolledAt: new Date().toISOString()
    }
    this.#db
      .prepare(
        `INSERT INTO attest_enrolments (peer_id, ak_fingerprint, ak_public_pem, enrolled_at)
         VALUES (@peerId, @akFingerprint, @akPublicPem, @enrolledAt)
         ON CONFLICT (peer_id) DO UPDATE SET ak_fingerprint = excluded.ak_fingerprint,
           ak_public_pem = excluded.ak_public_pem, enrolled_at = excluded.enrolled_at`
      )
      .run(enrolment)
    return enrolment
  }

  get(peerId: string): Enrolment | undefined {
    const row = this.#db
      .prepare(
        `SELECT peer_id AS peerId, ak_fingerprint AS akFingerprint, ak_public_pem AS akPublicPem,
           enrolled_at AS enrolledAt FROM attest_enrolments WHERE peer_id = ?`
      )
      .get(peerId) as Enrolment | undefined
    return row
  }

  list(): Enrolment[] {
    return this.#db
      .prepare(
        `SELECT peer_id AS peerId, ak_fingerprint AS akFingerprint, ak_public_pem AS akPublicPem,
           enrolled_at AS enrolledAt FROM attest_enrolments ORDER BY peer_id`
      )
      .all() as Enrolment[]
  }

  /** Removes the peer's enrolment; true when there was one. */
  remove(peerId: string): boolean {
    return this.#db.prepare('DELETE FROM attest_enrolments WHERE peer_id = ?').run(peerId).changes > 0
  }
}
