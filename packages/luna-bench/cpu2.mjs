// luna only, three measurements
import { readFileSync } from 'node:fs'
import autocannon from 'autocannon'
import { startLuna, startCeiling, stopAll } from './dist/processes.js'
import { instances, instancePath, AUTHORIZATION } from './dist/payload.js'
const ticks = (pid) => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return Number(f[11]) + Number(f[12]) }
const list = instances(1000, 100)
const requests = list.map((inst) => ({ method: 'PUT', path: instancePath(inst.id), headers: { authorization: AUTHORIZATION, 'content-type': 'application/json' }, body: inst.body }))
async function measure (server) {
  for (const inst of list) await fetch(`${server.url}${instancePath(inst.id)}`, { method: 'POST', headers: { authorization: AUTHORIZATION, 'content-type': 'application/json' }, body: inst.body })
  await autocannon({ url: server.url, connections: 20, amount: 20000, requests })
  const out = []
  for (let i = 0; i < 3; i++) { const before = ticks(server.child.pid); await autocannon({ url: server.url, connections: 20, amount: 30000, requests }); out.push(((ticks(server.child.pid) - before) * 10 / 30000 * 1000).toFixed(0)) }
  return out.join(' ')
}
const which = process.argv[2] ?? 'luna'
const server = which === 'luna' ? await startLuna({ args: ['--log-level', 'warn'] }) : await startCeiling()
console.log(which, await measure(server), 'µs CPU/request')
await stopAll([server]); process.exit(0)
