#!/usr/bin/env node
import { existsSync } from 'node:fs'

const cli = new URL('../dist/cli.js', import.meta.url)
if (!existsSync(cli)) {
  console.error('luna-server: dist/cli.js is missing; build the workspace first: npx pnpm@10.34.9 build')
  process.exit(1)
}
const { main } = await import(cli.href)
await main(process.argv.slice(2), process.env)
