/** Constants of the audit trail, each with its reason. */

/** Balance given to the node's account on the embedded chain (1000 ETH): enough for any test run. */
export const EMBEDDED_BALANCE_WEI = 10n ** 21n

/** Key-ring secret that holds the node's Ethereum private key when none is configured. */
export const ETH_KEY_SECRET = 'ethereum-private-key'

/** The file, in the data directory, where `dmn chain deploy` records the contract. */
export const CHAIN_FILE = 'chain.json'

/** eth_getLogs range per request: public endpoints commonly cap a query at a few thousand blocks. */
export const LOG_QUERY_BLOCK_SPAN = 5_000

/** Gas estimate head-room: state can change between estimate and inclusion. */
export const GAS_LIMIT_MARGIN_PERCENT = 20n

/** Gas-price raise of a replacement transaction; geth refuses replacements raised by less than 10%. */
export const REPLACEMENT_BUMP_PERCENT = 25n

/** Genesis `prev_hash` of the security log. */
export const LOG_GENESIS_HASH = '0'.repeat(64)

/** Outbox kinds. */
export const EVENT_KINDS = ['share', 'receipt', 'node'] as const
export type EventKind = (typeof EVENT_KINDS)[number]

/** How often the full event index reads the chain when nothing asks sooner. */
export const INDEX_SYNC_INTERVAL_MS = 30_000

/**
 * How long after receiving a share the recipient watches the chain for its anchors at the publisher's
 * poll interval (a sender that is up anchors within seconds; one that is down is met by the full
 * sync). After that, at INDEX_SYNC_INTERVAL_MS.
 */
export const INBOUND_WATCH_MS = 15 * 60_000

/** Inbound shares whose receipt anchor one `eth_getLogs` asks for (topic lists stay short). */
export const INBOUND_TOPIC_BATCH = 100

/** Inbound shares the recipient looks for on chain at once, newest first. */
export const INBOUND_MAX_OUTSTANDING = 1_000
