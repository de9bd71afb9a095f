/**
 * The plaintext of outgoing shares this node accepted and has not sealed yet, by data hash: the
 * sender seals from the bytes it already holds instead of reading back and decrypting the record it
 * has just written. Bounded in bytes (oldest out); an entry is taken by the first read, so a retry,
 * a share evicted under load and a share queued before a restart read the record at rest instead.
 * Keyed by `sha256(plaintext)`, an entry can only ever be the bytes its hash names.
 */
export class HeldPlaintext {
  readonly #maxBytes: number
  readonly #entries = new Map<string, Uint8Array>()
  #bytes = 0

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes
  }

  /** Holds `plaintext` for `dataHash` (a no-op for data larger than the whole bound). */
  hold(dataHash: string, plaintext: Uint8Array): void {
    if (plaintext.byteLength > this.#maxBytes || this.#entries.has(dataHash)) return
    this.#entries.set(dataHash, plaintext)
    this.#bytes += plaintext.byteLength
    for (const [hash, bytes] of this.#entries) {
      if (this.#bytes <= this.#maxBytes) break
      this.#entries.delete(hash)
      this.#bytes -= bytes.byteLength
    }
  }

  /** The held plaintext of `dataHash`, forgotten as it is returned; undefined when none is held. */
  take(dataHash: string): Uint8Array | undefined {
    const bytes = this.#entries.get(dataHash)
    if (bytes === undefined) return undefined
    this.#entries.delete(dataHash)
    this.#bytes -= bytes.byteLength
    return bytes
  }

  /** Bytes held now. */
  get bytes(): number {
    return this.#bytes
  }
}
