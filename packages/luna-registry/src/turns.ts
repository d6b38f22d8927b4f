const waiting: Array<() => void> = []
let scheduled = false

function schedule (): void {
  if (scheduled) return
  scheduled = true
  setImmediate(runOne)
}

function runOne (): void {
  scheduled = false
  const next = waiting.shift()
  if (waiting.length > 0) schedule()
  next?.()
}

/**
 * Resolves in a turn of the event loop of its own: the turns are handed out one at a time, first
 * come first served, to everything in the process that writes a large answer (a list, a
 * snapshot) or reads the store for one. Each holds the event loop for one piece of work, then
 * lets it poll for I/O again; however many such answers are under way, a request that needs
 * none of them (a heartbeat, a health check) waits for one piece at most, not one per answer.
 */
export async function nextTurn (): Promise<void> {
  await new Promise<void>((resolve) => {
    waiting.push(resolve)
    schedule()
  })
}
