import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LunaRegistry, MemoryStore, type InstanceInfo, type RegistryStore } from 'luna-registry'
import type { Renderer, RenderResult } from '../src/index.js'

interface Tap { teardown: (fn: () => unknown) => void }

type Line = [unknown, string?]

export interface RecordingLog {
  lines: { info: Line[], warn: Line[], error: Line[] }
  log: { info: (...args: any[]) => void, warn: (...args: any[]) => void, error: (...args: any[]) => void }
}

/** A logger that keeps what it is told, by level. */
export function recordingLog (): RecordingLog {
  const lines: RecordingLog['lines'] = { info: [], warn: [], error: [] }
  return {
    lines,
    log: {
      info: (...args: any[]) => { lines.info.push(args as Line) },
      warn: (...args: any[]) => { lines.warn.push(args as Line) },
      error: (...args: any[]) => { lines.error.push(args as Line) }
    }
  }
}

/** A registry in this process, its sweeper running, stopped when the test ends. */
export async function startRegistry (t: Tap, store: RegistryStore = new MemoryStore()): Promise<LunaRegistry> {
  const registry = new LunaRegistry({ store, heartbeatTimeout: 30_000, evictAfter: 0, sweepInterval: 250, now: Date.now })
  await registry.start()
  t.teardown(() => registry.stop())
  return registry
}

export function info (name: string, url: string, weight = 1, status: 'OK' | 'DOWN' = 'OK'): InstanceInfo {
  return { name, version: '1.0.0', status, url, balancerOptions: { weight } }
}

/** A directory of the test's own, removed when it ends. */
export async function tempDir (t: Tap): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'luna-render-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** Every result the renderer emits, in order. */
export function results (renderer: Renderer): RenderResult[] {
  const seen: RenderResult[] = []
  renderer.on('render', (result) => { seen.push(result) })
  return seen
}
