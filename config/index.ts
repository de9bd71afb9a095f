/**
 * The node's configuration: one typed, frozen object built by `loadConfig()` from defaults, an
 * optional JSON file, an optional env file and `DMN_*` environment variables (plus DataMgmt Node's
 * names).
 */
export { ENV_BINDINGS } from './env.ts'
export { DEFAULT_ENV_FILE, type EnvFile, readEnvFile } from './env-file.ts'
export { type LoadConfigOptions, loadConfig, redactConfig } from './load.ts'
export { type Config, type ConfigInput, configSchema, SECRET_PATHS } from './schema.ts'
