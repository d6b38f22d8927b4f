import { setTimeout as sleep } from 'node:timers/promises'

/**
 * Polls `check` every 20 ms until it returns something other than `undefined`, and returns it;
 * throws naming `what` once `timeout` ms have passed. For tests that watch real processes.
 */
export async function until<T> (what: string, check: () => Promise<T | undefined> | T | undefined, timeout = 5000): Promise<T> {
  const deadline = Date.now() + timeout
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await sleep(20)
  }
}

/**
 * What `promise` resolves to; a rejection naming `what` if it has not settled within `timeout`
 * ms. A bound on a wait that would otherwise hang, not a measurement: keep it generous.
 */
export async function within<T> (what: string, promise: Promise<T>, timeout = 5000): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  return await Promise.race([
    promise,
    new Promise<never>((resolve, reject) => {
      timer = setTimeout(() => { reject(new Error(`${what}: nothing within ${timeout} ms`)) }, timeout)
    })
  ]).finally(() => { clearTimeout(timer) })
}
