import type { AutocannonRequest } from 'autocannon'
import { inParallel, request } from './http.js'
import { AUTHORIZATION, instancePath, type BenchInstance } from './payload.js'

/** Registers every instance with `POST`, 16 at a time; anything but 201 or 200 is an error. */
export async function registerAll (baseUrl: string, instances: readonly BenchInstance[]): Promise<void> {
  await inParallel(instances, 16, async (instance) => {
    const response = await request(`${baseUrl}${instancePath(instance.id)}`, {
      method: 'POST',
      headers: { authorization: AUTHORIZATION },
      body: instance.body
    })
    if (response.status !== 201 && response.status !== 200) {
      throw new Error(`POST ${instancePath(instance.id)} answered ${response.status}: ${response.body.slice(0, 200)}`)
    }
  })
}

/** One `PUT` heartbeat per instance with its registration's body, 16 at a time; anything but 200 is an error. */
export async function heartbeatAll (baseUrl: string, instances: readonly BenchInstance[]): Promise<void> {
  await inParallel(instances, 16, async (instance) => {
    const response = await request(`${baseUrl}${instancePath(instance.id)}`, { method: 'PUT', headers: HEARTBEAT_HEADERS, body: instance.body })
    if (response.status !== 200) throw new Error(`PUT ${instancePath(instance.id)} answered ${response.status}: ${response.body.slice(0, 200)}`)
  })
}

/** The heartbeat of each instance, as the load generator sends it. */
export function heartbeatRequests (instances: readonly BenchInstance[]): Array<{ path: string, body: string }> {
  return instances.map((instance) => ({ path: instancePath(instance.id), body: instance.body }))
}

/**
 * The heartbeat of each instance with a body never sent before: its metadata carries a counter
 * (`seq`) that the load generator raises for every request.
 */
export function changingHeartbeatRequests (instances: readonly BenchInstance[]): AutocannonRequest[] {
  let sequence = 0
  return instances.map((instance) => {
    const info = JSON.parse(instance.body) as { metadata: Record<string, string> }
    info.metadata['seq'] = '#'
    const [before, after] = JSON.stringify(info).split('"seq":"#"') as [string, string]
    return {
      path: instancePath(instance.id),
      body: instance.body,
      setupRequest: (request) => ({ ...request, body: `${before}"seq":"${++sequence}"${after}` })
    }
  })
}

export const HEARTBEAT_HEADERS = { authorization: AUTHORIZATION, 'content-type': 'application/json' }

/** One heartbeat by hand: the load is only worth measuring if it is answered 200. */
export async function checkHeartbeat (baseUrl: string, instance: BenchInstance, label: string): Promise<void> {
  const response = await request(`${baseUrl}${instancePath(instance.id)}`, { method: 'PUT', headers: HEARTBEAT_HEADERS, body: instance.body })
  if (response.status !== 200) throw new Error(`${label}: a heartbeat answered ${response.status}: ${response.body.slice(0, 200)}`)
}

/** Removes every instance, one DELETE each. */
export async function deregisterAll (baseUrl: string, instances: readonly BenchInstance[]): Promise<void> {
  for (const instance of instances) {
    await fetch(`${baseUrl}${instancePath(instance.id)}`, { method: 'DELETE', headers: { authorization: AUTHORIZATION } })
  }
}
