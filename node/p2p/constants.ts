/** Protocol ids and limits of the peer-to-peer layer. */

/** The share protocol, versioned (README "Peer to peer"). */
export const SHARE_PROTOCOL = '/dmn/share/1.0.0'
/** Serves a share again by data hash, only to its recipient. */
export const FETCH_PROTOCOL = '/dmn/fetch/1.0.0'
/** Node certificates are exchanged on connect over this protocol. */
export const CERT_PROTOCOL = '/dmn/cert/1.0.0'
/** The sender challenges a maximum-tier recipient for a TPM quote (README "Maximum tier: TPM attestation"). */
export const ATTEST_PROTOCOL = '/dmn/attest/1.0.0'
/** A share's recipient asks its sender for the sender's evidence of it (docs/AUDIT.md, "Inbound shares"). */
export const EVIDENCE_PROTOCOL = '/dmn/evidence/1.0.0'
/** Our own DHT namespace, so the node never joins the public IPFS DHT by accident. */
export const DHT_PROTOCOL = '/dmn/kad/1.0.0'

/** Version field of every JSON message on our protocols. */
export const MESSAGE_VERSION = 1

/** Frame header: a 4-byte big-endian length, so a reader knows a frame's size before buffering it. */
export const FRAME_HEADER_BYTES = 4
/** 1 MiB of data, plus envelope overhead (header, wrapped key, signature, base64 of Fernet). */
export const MAX_FRAME_BYTES = 2 * 1024 * 1024
/** Control frames (certificates, requests, receipts, refusals) are small. */
export const MAX_CONTROL_FRAME_BYTES = 64 * 1024

/** Secret name of the libp2p identity key inside the key ring. */
export const LIBP2P_KEY_SECRET = 'libp2p-identity'

/** Writing a refusal frame (well under 1 KiB) has its own deadline: the stream's may have passed. */
export const REFUSAL_WRITE_TIMEOUT_MS = 5_000
/**
 * Inbound streams libp2p admits per connection and protocol: well above `p2p.limits.concurrentStreams`,
 * so the node's own limiter answers the excess with a RateLimitedError frame instead of libp2p
 * resetting it unanswered; still a cap, since every open stream holds read and write buffers.
 */
export const MAX_INBOUND_STREAMS_PER_PROTOCOL = 128
/** Streams this node opens per connection and protocol: above what the delivery worker and fetches use at once. */
export const MAX_OUTBOUND_STREAMS_PER_PROTOCOL = 64
/** A ping answers in milliseconds; waiting longer for one only holds up the health round. */
export const MAX_PING_TIMEOUT_MS = 10_000
/** Peers pinged per health round at the most, so a large peer book cannot flood the node. */
export const MAX_PINGS_PER_ROUND = 64
/** A peer is healthy when at least this share of recent contacts succeeded. */
export const HEALTHY_SUCCESS_RATE = 0.5
/** A peer's contact counts are halved past this many contacts, so its success rate follows recent behaviour. */
export const CONTACT_WINDOW = 64
/** Weight of a new latency sample in a peer's moving average. */
export const LATENCY_ALPHA = 0.3
/** Unresolved shares read per query of a resolver round, so one round never loads a whole backlog at once. */
export const RESOLVE_BATCH = 64
/** How long the resolver looks for a resolved recipient's addresses in the DHT before delivery tries anyway. */
export const LOCATE_TIMEOUT_MS = 10_000
/**
 * Plaintext of accepted outgoing shares kept in memory until their first delivery attempt seals it,
 * so the sender does not read back and decrypt the record it has just written; bounded, oldest out.
 */
export const HELD_PLAINTEXT_BYTES = 64 * 1024 * 1024
/** Bytes an envelope adds to its plaintext at most (header, wrapped key, signature, padding): what pacing charges beside the data. */
export const ENVELOPE_OVERHEAD_BYTES = 2048
/** Due shares the delivery worker looks at beyond its free slots, so shares held back for one recipient's pace do not stall others. */
export const PACING_LOOKAHEAD = 32
/**
 * How long a group of received shares waits for the others already being opened on concurrent
 * streams, from its first share, before it commits: a few milliseconds of each answer for one fsync
 * instead of several (node/store/group-commit.ts).
 */
export const RECEIVE_GROUP_WAIT_MS = 10
/** Due shares the delivery worker reads beyond what one round needs, so the next rounds need no query (due-window.ts). */
export const DUE_WINDOW_EXTRA = 64
/** How long the delivery worker serves due shares from one read of the queue at most. */
export const DUE_WINDOW_MAX_AGE_MS = 1_000
/** Shares delivered together (README "Batched delivery"): one key wrap, one signature, one receipt root. */
export const BATCH_PROTOCOL = '/dmn/share-batch/1.0.0'
/** Entries one batch may hold, whatever the sender's `p2p.batchMax` (its schema's maximum). */
export const MAX_BATCH_ENTRIES = 256
/** Plaintext bytes a sender puts in one batch; the shares past it wait for the next one. */
export const MAX_BATCH_PLAINTEXT_BYTES = 8 * 1024 * 1024
/** Bytes a receiver reads for one batch (sealed parts, Fernet and framing overhead included). */
export const MAX_BATCH_WIRE_BYTES = 16 * 1024 * 1024
/** How long a peer that does not speak the batch protocol gets per-share delivery before it is tried again. */
export const BATCH_UNSUPPORTED_RETRY_MS = 10 * 60_000
