import { readFile } from 'node:fs/promises'

interface CallFrame {
  functionName: string
  url: string
  lineNumber: number
}

interface CpuProfile {
  nodes: Array<{ id: number, callFrame: CallFrame }>
  samples: number[]
  timeDeltas: number[]
}

export interface SelfTime {
  name: string
  /** Where it lives: a package, `node:` internals, or `(native)`. */
  where: string
  ms: number
  /** Share of the busy (non-idle) time. */
  share: number
}

export interface ProfileSummary {
  busyMs: number
  idleMs: number
  functions: SelfTime[]
  places: SelfTime[]
}

/** The package a script belongs to, from its URL. */
export function placeOf (url: string): string {
  if (url === '') return '(native)'
  if (url.startsWith('node:')) return 'node: internals'
  const dependency = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules\/)/.exec(url)
  if (dependency !== null) return dependency[1]!
  const workspace = /\/packages\/([^/]+)\//.exec(url)
  if (workspace !== null) return workspace[1]!
  return url.replace(/^file:\/\//, '')
}

function shortUrl (url: string): string {
  const file = url.replace(/^file:\/\//, '').split('/').slice(-2).join('/')
  return file === '' ? '' : ` ${file}`
}

/** Self time by function and by package, from a `.cpuprofile` written by `node --cpu-prof`. */
export async function summariseProfile (path: string, top = 15): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(path, 'utf8')) as CpuProfile
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]))
  const byFunction = new Map<string, SelfTime>()
  const byPlace = new Map<string, SelfTime>()
  let idleUs = 0
  let busyUs = 0
  profile.samples.forEach((id, index) => {
    // A sample's delta is the time since the one before: it belongs to the one before.
    const us = profile.timeDeltas[index + 1] ?? 0
    const frame = frames.get(id)
    if (frame === undefined) return
    if (frame.functionName === '(idle)') {
      idleUs += us
      return
    }
    busyUs += us
    const where = placeOf(frame.url)
    const name = `${frame.functionName === '' ? '(anonymous)' : frame.functionName}${shortUrl(frame.url)}${frame.url === '' ? '' : `:${frame.lineNumber + 1}`}`
    const fn = byFunction.get(name) ?? { name, where, ms: 0, share: 0 }
    fn.ms += us / 1000
    byFunction.set(name, fn)
    const place = byPlace.get(where) ?? { name: where, where, ms: 0, share: 0 }
    place.ms += us / 1000
    byPlace.set(where, place)
  })
  const ranked = (entries: Iterable<SelfTime>, count: number): SelfTime[] => [...entries]
    .map((entry) => ({ ...entry, share: busyUs === 0 ? 0 : entry.ms * 1000 / busyUs }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, count)
  return { busyMs: busyUs / 1000, idleMs: idleUs / 1000, functions: ranked(byFunction.values(), top), places: ranked(byPlace.values(), 12) }
}
