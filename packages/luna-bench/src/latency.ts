import http from 'node:http'
import { distribution, type Distribution } from './stats.js'

/**
 * Sequential requests over one kept-alive connection, none in flight at once: the time each
 * takes on a machine otherwise idle for it, in microseconds. `warmup` requests first, untimed.
 */
export async function sequentialLatency (url: string, count: number, warmup: number): Promise<Distribution & { failures: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  const times: number[] = []
  let failures = 0
  try {
    for (let i = 0; i < warmup + count; i++) {
      const started = process.hrtime.bigint()
      const status = await new Promise<number>((resolve, reject) => {
        const request = http.get(url, { agent }, (response) => {
          response.resume()
          response.on('end', () => resolve(response.statusCode ?? 0))
          response.on('error', reject)
        })
        request.on('error', reject)
      })
      const micros = Number(process.hrtime.bigint() - started) / 1000
      if (status !== 200) failures++
      if (i >= warmup) times.push(micros)
    }
  } finally {
    agent.destroy()
  }
  return { ...distribution(times), failures }
}
