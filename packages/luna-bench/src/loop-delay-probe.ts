// Preloaded into a server the bench starts (`node --import loop-delay-probe.js …`), so the server
// itself needs no route for it: every `LOOP_PROBE_INTERVAL_MS` it writes one line to standard
// error, `loop-delay {"p99":…,"max":…,"rss":…,"heapUsed":…}` (milliseconds, bytes), the delays
// counted since the line before.
import { monitorEventLoopDelay } from 'node:perf_hooks'

const interval = Number(process.env['LOOP_PROBE_INTERVAL_MS'] ?? 5000)
const histogram = monitorEventLoopDelay({ resolution: 10 })
histogram.enable()

setInterval(() => {
  const { rss, heapUsed } = process.memoryUsage()
  const line = { p99: histogram.percentile(99) / 1e6, max: histogram.max / 1e6, rss, heapUsed }
  histogram.reset()
  process.stderr.write(`loop-delay ${JSON.stringify(line)}\n`)
}, interval).unref()
