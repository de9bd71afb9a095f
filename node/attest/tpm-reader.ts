import { AttestationMalformedError } from './errors.ts'

/**
 * A cursor over a big-endian TPM marshalled buffer (TCG Part 1, "Marshalling"). Every read is
 * bounds-checked: a truncated structure is an AttestationMalformedError, never a partial value.
 */
export class TpmReader {
  readonly #bytes: Uint8Array
  readonly #view: DataView
  readonly #what: string
  #offset = 0

  constructor(bytes: Uint8Array, what: string) {
    this.#bytes = bytes
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    this.#what = what
  }

  get offset(): number {
    return this.#offset
  }

  #take(n: number): number {
    if (this.#offset + n > this.#bytes.byteLength)
      throw new AttestationMalformedError(`${this.#what} is truncated at byte ${this.#offset}`)
    const at = this.#offset
    this.#offset += n
    return at
  }

  u8(): number {
    return this.#view.getUint8(this.#take(1))
  }

  u16(): number {
    return this.#view.getUint16(this.#take(2))
  }

  u32(): number {
    return this.#view.getUint32(this.#take(4))
  }

  u64(): bigint {
    return this.#view.getBigUint64(this.#take(8))
  }

  bytes(n: number): Uint8Array {
    const at = this.#take(n)
    return this.#bytes.subarray(at, at + n)
  }

  /** A TPM2B_*: a 16-bit size, then that many bytes. */
  sized(): Uint8Array {
    return this.bytes(this.u16())
  }

  /** The bytes from `start` to the cursor (for hashing a sub-structure as marshalled). */
  slice(start: number): Uint8Array {
    return this.#bytes.subarray(start, this.#offset)
  }

  /** Refuses trailing bytes: a structure must be exactly what was signed or enrolled. */
  end(): void {
    if (this.#offset !== this.#bytes.byteLength)
      throw new AttestationMalformedError(
        `${this.#what} has ${this.#bytes.byteLength - this.#offset} trailing bytes`
      )
  }
}
