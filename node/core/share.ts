/**
 * The share domain: tiers, identifiers and limits that every layer agrees on.
 */

/** Security tiers, weakest first. The tier sets the minimum checks a share must pass. */
export const TIERS = ['standard', 'high', 'maximum'] as const
export type Tier = (typeof TIERS)[number]

/** DESIGN.md "Data in transit": data is at most 1 MiB, counted in bytes. */
export const MAX_DATA_BYTES = 1024 * 1024

/** A share id is 128 random bits, written as 32 lowercase hex digits. */
export const SHARE_ID_PATTERN = /^[0-9a-f]{32}$/

/** `data_hash` is SHA-256 of the plaintext, 64 lowercase hex digits. */
export const DATA_HASH_PATTERN = /^[0-9a-f]{64}$/

export function isTier(value: unknown): value is Tier {
  return typeof value === 'string' && (TIERS as readonly string[]).includes(value)
}
