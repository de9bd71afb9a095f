import { createRequire } from 'node:module'
import hardhatEthers from '@nomicfoundation/hardhat-ethers'
import hardhatNodeTestRunner from '@nomicfoundation/hardhat-node-test-runner'
import { defineConfig } from 'hardhat/config'

// Compile offline with the WASM solc from npm: with a `path`, Hardhat skips its compiler download.
const soljson = createRequire(import.meta.url).resolve('solc/soljson.js')

export default defineConfig({
  plugins: [hardhatEthers, hardhatNodeTestRunner],
  solidity: {
    version: '0.8.37',
    path: soljson,
    settings: { optimizer: { enabled: true, runs: 1_000_000 }, evmVersion: 'cancun' }
  },
  paths: {
    sources: './contracts',
    tests: { nodejs: './contracts/test' },
    artifacts: './artifacts',
    cache: './cache'
  }
})
