import type { Db } from './database.ts'

/**
 * TPM attestation keys the operator enrolled, one per peer (table `attest_enrolments`, migration
 * 0006). What makes a key an AK and how it is fingerprinted is node/attest's business.
 */

/** An AK the operator pinned for a peer. */
export interface Enrolment {
  readonly peerId: string
  /** SHA-256 hex of the AK's SPKI DER. */
  readonly akFingerprint: string
  readonly akPublicPem: string
  readonly enrolledAt: string
}

const COLUMNS =
  'peer_id AS peerId, ak_fingerprint AS akFingerprint, ak_public_pem AS akPublicPem, enrolled_at AS enrolledAt'

/** Repository over `attest_enrolments`. */
export class EnrolmentRepository {
  readonly #put
  readonly #get
  readonly #all
  readonly #remove

  constructor(db: Db) {
    this.#put = db.prepare<[Enrolment]>(
      `INSERT INTO attest_enrolments (peer_id, ak_fingerprint, ak_public_pem, enrolled_at)
       VALUES (@peerId, @akFingerprint, @akPublicPem, @enrolledAt)
       ON CONFLICT (peer_id) DO UPDATE SET ak_fingerprint = excluded.ak_fingerprint,
         ak_public_pem = excluded.ak_public_pem, enrolled_at = excluded.enrolled_at`
    )
    this.#get = db.prepare<[string], Enrolment>(`SELECT ${COLUMNS} FROM attest_enrolments WHERE peer_id = ?`)
    this.#all = db.prepare<[], Enrolment>(`SELECT ${COLUMNS} FROM attest_enrolments ORDER BY peer_id`)
    this.#remove = db.prepare<[string]>('DELETE FROM attest_enrolments WHERE peer_id = ?')
  }

  /** Stores the enrolment, replacing an earlier one of the same peer. */
  put(enrolment: Enrolment): void {
    this.#put.run({
      peerId: enrolment.peerId,
      akFingerprint: enrolment.akFingerprint,
      akPublicPem: enrolment.akPublicPem,
      enrolledAt: enrolment.enrolledAt
    })
  }

  get(peerId: string): Enrolment | undefined {
    return this.#get.get(peerId)
  }

  /** Every enrolment, by PeerId. */
  list(): Enrolment[] {
    return this.#all.all()
  }

  /** Removes the peer's enrolment; true when there was one. */
  remove(peerId: string): boolean {
    return this.#remove.run(peerId).changes > 0
  }
}
