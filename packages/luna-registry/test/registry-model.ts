import fc from 'fast-check'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { AUTH, PREFIX } from './helpers.js'

// A model of the instance contract, and random sequences of requests checked against it through
// `inject`, step by step. Shared by the memory store's test and the Redis store's.

const IDS = ['orders:10.0.0.1:8080', 'orders:10.0.0.2:8080', 'billing:10.0.0.3:8080'] as const
type Id = typeof IDS[number]

/** What the contract says the registry holds for one instance. */
interface Modelled {
  reportedStatus: 'OK' | 'DOWN'
  /** Which body it sent last: it decides the version and the metadata. */
  variant: number
}
type Model = ReadonlyMap<string, Modelled>

/** Ways a body or a request can be wrong; each is a 400 that changes nothing. */
const FLAWS = ['status', 'url', 'name', 'json', 'metadata', 'id'] as const
type Flaw = typeof FLAWS[number]

export type Op =
  | { kind: 'register', id: Id, variant: number, status: 'OK' | 'DOWN', minimal: boolean }
  | { kind: 'heartbeat', id: Id, variant: number, status: 'OK' | 'DOWN', minimal: boolean }
  | { kind: 'deregister', id: Id }
  | { kind: 'invalid', method: 'POST' | 'PUT', id: Id, flaw: Flaw }
  // Maintenance requests join here: an op kind, its arbitrary below, its request in `send` and
  // its rule in `expected`.

/** A step: one request, or two or three sent at once. */
export type Step = Op[]

function service (id: string): string {
  return id.slice(0, id.indexOf(':'))
}

/** The body of `variant`: a few variants, so some bodies repeat byte for byte and some change. */
function body (id: string, variant: number, status: string): Record<string, unknown> {
  const [, host = '', port = ''] = id.split(':')
  return { name: service(id), version: `1.${variant}.0`, status, url: `http://${host}:${port}/`, metadata: { v: String(variant) } }
}

function flawed (id: string, flaw: Flaw): { id: string, payload: string } {
  const good = body(id, 0, 'OK')
  switch (flaw) {
    case 'status': return { id, payload: JSON.stringify({ ...good, status: 'ok' }) }
    case 'url': return { id, payload: JSON.stringify({ ...good, url: 'ftp://x/' }) }
    case 'name': return { id, payload: JSON.stringify({ ...good, name: 'someone-else' }) }
    case 'json': return { id, payload: JSON.stringify(good).slice(0, -1) }
    case 'metadata': return { id, payload: JSON.stringify({ ...good, metadata: { v: 1 } }) }
    case 'id': return { id: `${service(id)}:no-port`, payload: JSON.stringify(good) }
  }
}

const variant = fc.integer({ min: 0, max: 3 })
const status = fc.constantFrom<'OK' | 'DOWN'>('OK', 'OK', 'DOWN')
const id = fc.constantFrom(...IDS)

export const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('register' as const), id, variant, status, minimal: fc.boolean() }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('heartbeat' as const), id, variant, status, minimal: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('deregister' as const), id }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('invalid' as const), method: fc.constantFrom<'POST' | 'PUT'>('POST', 'PUT'), id, flaw: fc.constantFrom(...FLAWS) }) }
)

export const stepsArbitrary: fc.Arbitrary<Step[]> = fc.array(
  fc.oneof({ weight: 3, arbitrary: opArbitrary.map((op) => [op]) }, { weight: 1, arbitrary: fc.array(opArbitrary, { minLength: 2, maxLength: 3 }) }),
  { minLength: 1, maxLength: 30 }
)

async function send (app: FastifyInstance, op: Op): Promise<LightMyRequestResponse> {
  const headers = { ...AUTH, 'content-type': 'application/json' }
  switch (op.kind) {
    case 'register':
    case 'heartbeat':
      return await app.inject({
        method: op.kind === 'register' ? 'POST' : 'PUT',
        url: `${PREFIX}/instances/${op.id}`,
        headers: op.minimal ? { ...headers, prefer: 'return=minimal' } : headers,
        payload: JSON.stringify(body(op.id, op.variant, op.status))
      })
    case 'deregister':
      return await app.inject({ method: 'DELETE', url: `${PREFIX}/instances/${op.id}`, headers: AUTH })
    case 'invalid': {
      const { id, payload } = flawed(op.id, op.flaw)
      return await app.inject({ method: op.method, url: `${PREFIX}/instances/${id}`, headers, payload })
    }
  }
}

/** The status the contract gives `op` in `model`, and the model after it. */
function expected (model: Model, op: Op): { status: number, next: Model } {
  const known = op.kind !== 'invalid' && model.has(op.id)
  switch (op.kind) {
    case 'register': {
      const next = new Map(model).set(op.id, { reportedStatus: op.status, variant: op.variant })
      return { status: known ? (op.minimal ? 204 : 200) : 201, next }
    }
    case 'heartbeat': {
      if (!known) return { status: 404, next: model }
      return { status: op.minimal ? 204 : 200, next: new Map(model).set(op.id, { reportedStatus: op.status, variant: op.variant }) }
    }
    case 'deregister': {
      if (!known) return { status: 404, next: model }
      const next = new Map(model)
      next.delete(op.id)
      return { status: 204, next }
    }
    case 'invalid':
      return { status: 400, next: model }
  }
}

/** The view an answer or a list shows, reduced to what the model decides. */
function modelled (view: Record<string, any>): Modelled & { consistent: boolean } {
  const v = Number(view['metadata']?.v)
  return {
    reportedStatus: view['reportedStatus'],
    variant: v,
    // No clock moves: the effective status is the reported one, and the body's parts agree.
    consistent: view['status'] === view['reportedStatus'] && view['version'] === `1.${v}.0`
  }
}

function describe (model: Model): string {
  return JSON.stringify([...model].sort(([a], [b]) => a < b ? -1 : 1))
}

/** What the registry holds, read through `GET /instances`, in the model's terms. */
async function observed (app: FastifyInstance): Promise<Model> {
  const res = await app.inject({ method: 'GET', url: `${PREFIX}/instances`, headers: AUTH })
  if (res.statusCode !== 200) throw new Error(`GET /instances answered ${res.statusCode}: ${res.body}`)
  const state = new Map<string, Modelled>()
  for (const view of res.json() as Array<Record<string, any>>) {
    const { consistent, ...seen } = modelled(view)
    if (!consistent) throw new Error(`an inconsistent view: ${JSON.stringify(view)}`)
    state.set(view['instanceId'], seen)
  }
  return state
}

function * orders<T> (items: readonly T[]): Generator<T[]> {
  if (items.length <= 1) {
    yield [...items]
    return
  }
  for (let i = 0; i < items.length; i++) {
    for (const rest of orders([...items.slice(0, i), ...items.slice(i + 1)])) yield [items[i]!, ...rest]
  }
}

/**
 * Sends each step's requests (those of a step at once) and checks, after every step, that some
 * order of them explains every answer and the state read back; throws with the step otherwise.
 */
export async function runSteps (app: FastifyInstance, steps: readonly Step[]): Promise<void> {
  let model: Model = new Map()
  for (const [index, step] of steps.entries()) {
    const answers = await Promise.all(step.map(async (op) => await send(app, op)))
    const state = await observed(app)
    let explained: Model | undefined
    for (const order of orders(step.map((op, position) => ({ op, answer: answers[position]! })))) {
      let candidate = model
      let fits = true
      for (const { op, answer } of order) {
        const outcome = expected(candidate, op)
        candidate = outcome.next
        if (answer.statusCode !== outcome.status) fits = false
        else if ('minimal' in op && op.minimal && outcome.status < 300) fits = answer.body === ''
        else if (outcome.status === 200 || outcome.status === 201) {
          const { consistent, ...seen } = modelled(answer.json())
          fits = consistent && JSON.stringify(seen) === JSON.stringify(candidate.get(op.id))
        }
        if (!fits) break
      }
      if (fits && describe(candidate) === describe(state)) {
        explained = candidate
        break
      }
    }
    if (explained === undefined) {
      throw new Error(`step ${index} ${JSON.stringify(step)}: answered ${answers.map((answer) => `${answer.statusCode} ${answer.body.slice(0, 120)}`).join(' | ')}; ` +
        `the model held ${describe(model)}, the registry holds ${describe(state)}`)
    }
    model = explained
  }
}

export interface ModelRunOptions {
  /** A fresh registry for one sequence, and how to be rid of it. */
  fresh: () => Promise<{ app: FastifyInstance, close: () => Promise<void> }>
  /** Milliseconds of sequences (`LUNA_MODEL_SECONDS` asks for a longer run), or a number of them. */
  limit: { milliseconds: number } | { runs: number }
  seed?: number
}

/** Random sequences, each on a fresh registry; a failure shrinks to a minimal one. */
export async function checkAgainstModel ({ fresh, limit, seed }: ModelRunOptions): Promise<fc.RunDetails<[Step[]]>> {
  const longer = Number(process.env['LUNA_MODEL_SECONDS'])
  const milliseconds = !('milliseconds' in limit) ? undefined : Number.isFinite(longer) && longer > 0 ? longer * 1000 : limit.milliseconds
  return await fc.check(fc.asyncProperty(stepsArbitrary, async (steps) => {
    const { app, close } = await fresh()
    try {
      await runSteps(app, steps)
    } finally {
      await close()
    }
  }), {
    ...(milliseconds === undefined ? { numRuns: 'runs' in limit ? limit.runs : 100 } : { numRuns: Number.MAX_SAFE_INTEGER, interruptAfterTimeLimit: milliseconds, markInterruptAsFailure: false }),
    ...(seed === undefined ? {} : { seed })
  })
}

/** What a run found, for a failed assertion: the sequence it shrank to and the error. */
export function report (details: fc.RunDetails<[Step[]]>): string {
  return fc.defaultReportMessage(details) ?? `${details.numRuns} sequences, no counterexample`
}
