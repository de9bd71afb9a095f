/**
 * Bytes in pieces, as node:crypto hands them back (a cipher's `update` and `final` outputs, a MAC, a
 * short header). Whoever lays them out (a record at rest, an envelope, a batch entry) allocates its
 * buffer once and copies each piece into it once; nothing on the way concatenates the payload.
 */
export interface BytePieces {
  readonly pieces: readonly Uint8Array[]
  /** The sum of the pieces' lengths. */
  readonly length: number
}

/** Pieces of the given buffers. */
export function piecesOf(...pieces: Uint8Array[]): BytePieces {
  let length = 0
  for (const piece of pieces) length += piece.length
  return { pieces, length }
}

/** Copies `pieces` into `target` from `offset` on; returns the offset after the last one. */
export function writePieces(target: Uint8Array, offset: number, pieces: readonly Uint8Array[]): number {
  let at = offset
  for (const piece of pieces) {
    target.set(piece, at)
    at += piece.length
  }
  return at
}

/** The pieces as one new buffer. */
export function joinPieces(bytes: BytePieces): Buffer {
  const out = Buffer.allocUnsafe(bytes.length)
  writePieces(out, 0, bytes.pieces)
  return out
}
