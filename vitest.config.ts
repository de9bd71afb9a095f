import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: [
      'node/**/*.test.ts',
      'api/**/*.test.ts',
      'config/**/*.test.ts',
      'scripts/**/*.test.ts',
      'test/**/*.test.ts'
    ],
    // Integration tests start processes, libp2p nodes and a Hardhat node: processes isolate them.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default']
  }
})
