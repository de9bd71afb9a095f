import { configSchema } from '../../config/schema.ts'

/**
 * What a protocol or service of this layer uses for a setting its init leaves out: the
 * configuration's own default (config/schema.ts is the one place defaults are written), so a part
 * built without a setting behaves as a node configured without it.
 */
export const P2P_DEFAULTS = configSchema.shape.p2p.parse(undefined)
