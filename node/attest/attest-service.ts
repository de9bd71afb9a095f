import type { Startable } from '../core/lifecycle.ts'
import type { Logger } from '../log/logger.ts'
import type { EnrolmentRepository } from '../store/enrolments.ts'
import {
  decodeAttestationFields,
  NO_TPM,
  qualifyingData,
  type TpmAttestationFields
} from './attestation-fields.ts'
import { PcrPolicyFileError, TpmUnavailableError } from './errors.ts'
import { loadPcrPolicy, type PcrPolicy } from './policy.ts'
import { type AkAlgorithm, Tpm2Tools, type TpmQuote } from './tpm2-tools.ts'
import { type VerifiedQuote, verifyQuote } from './verify-quote.ts'

/** Options of the attestation component; `config.attest` supplies them. */
export interface AttestInit {
  /** This node has a TPM and answers challenges with quotes. */
  readonly enabled: boolean
  readonly tcti: string
  readonly akHandle: string
  readonly akAlgorithm: AkAlgorithm
  readonly commandTimeoutMs: number
  /** Known-good PCR baseline; set, this node verifies recipients of maximum-tier shares. */
  readonly policyFile?: string | undefined
}

export interface AttestComponents {
  /** The enrolled AKs; a getter because the store opens the database after this is built. */
  readonly enrolments: () => Pick<EnrolmentRepository, 'get'>
  readonly logger: Logger
}

/** A challenge as the p2p protocol carries it. */
export interface AttestChallenge {
  readonly payloadId: string
  readonly nonce: Uint8Array
}

/**
 * Both ends of TPM attestation. As a recipient (enabled): answers a challenge with a quote from its
 * TPM, or `is_available: false` without one. As a sender (policyFile set): verifies a recipient's
 * answer against the challenge, the PCR policy and the AK enrolled for that peer. Start loads the
 * policy and makes sure the AK exists, so a broken TPM or policy stops the node at start, not at
 * the first maximum-tier share.
 */
export class AttestService implements Startable {
  readonly name = 'attest'
  readonly #components: AttestComponents
  readonly #init: AttestInit
  readonly #tpm: Tpm2Tools | undefined
  #policy: PcrPolicy | undefined
  #enrolments: Pick<EnrolmentRepository, 'get'> | undefined

  constructor(components: AttestComponents, init: AttestInit) {
    this.#components = components
    this.#init = init
    this.#tpm = init.enabled
      ? new Tpm2Tools({
          tcti: init.tcti,
          akHandle: init.akHandle,
          akAlgorithm: init.akAlgorithm,
          timeoutMs: init.commandTimeoutMs
        })
      : undefined
  }

  /** True when this node verifies recipients (a policy file is configured). */
  get verifies(): boolean {
    return this.#init.policyFile !== undefined
  }

  async start(): Promise<void> {
    if (this.#init.policyFile !== undefined) this.#policy = loadPcrPolicy(this.#init.policyFile)
    if (this.#tpm) {
      await this.#tpm.ensureAk({ signal: AbortSignal.timeout(this.#init.commandTimeoutMs * 4) })
      this.#components.logger.info(
        { tcti: this.#init.tcti, akHandle: this.#init.akHandle },
        'TPM attestation ready'
      )
    }
  }

  stop(): void {
    this.#policy = undefined
  }

  /** This node's AK as a TPM2B_PUBLIC (what `dmn attest show-ak` exports), or undefined without a TPM. */
  async akPublic(options: { signal?: AbortSignal } = {}): Promise<Uint8Array | undefined> {
    return this.#tpm?.ensureAk(options)
  }

  /** This node's answer to a challenge: a fresh quote, or `is_available: false` without a TPM. */
  async answer(
    challenge: AttestChallenge,
    options: { signal?: AbortSignal } = {}
  ): Promise<TpmAttestationFields> {
    if (!this.#tpm) return NO_TPM
    let akPublic: Uint8Array
    let quote: TpmQuote
    try {
      akPublic = await this.#tpm.ensureAk(options)
      quote = await this.#tpm.quote(qualifyingData(challenge.payloadId, challenge.nonce), options)
    } catch (err) {
      // The tools' output names local paths and handles: logged here, never sent to the peer.
      this.#components.logger.error({ err }, 'TPM quote failed')
      throw new TpmUnavailableError('the TPM could not produce a quote', { cause: err })
    }
    const values: Record<string, string> = {}
    for (const [pcr, value] of quote.pcrValues) values[String(pcr)] = Buffer.from(value).toString('hex')
    return {
      is_available: true,
      pcr_banks: ['sha256'],
      pcr_values: { sha256: values },
      aik_pubkey_b64: Buffer.from(akPublic).toString('base64'),
      quote_b64: Buffer.from(quote.quote).toString('base64'),
      signature_b64: Buffer.from(quote.signature).toString('base64')
    }
  }

  /** Verifies `peerId`'s answer to `challenge`; throws the named error of the first failed check. */
  verify(peerId: string, answer: unknown, challenge: AttestChallenge): VerifiedQuote {
    const policy = this.#policy
    if (!policy)
      throw new PcrPolicyFileError('no PCR policy is loaded: set attest.policyFile and start the node')
    this.#enrolments ??= this.#components.enrolments()
    const enrolments = this.#enrolments
    const verified = verifyQuote(decodeAttestationFields(answer), {
      qualifyingData: qualifyingData(challenge.payloadId, challenge.nonce),
      policy,
      enrolledAkFingerprint: enrolments.get(peerId)?.akFingerprint
    })
    this.#components.logger.info({ peerId, ak: verified.akFingerprint }, 'recipient attested')
    return verified
  }
}
