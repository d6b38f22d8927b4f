/** Instances as real services send them: a heartbeat body of about 400 bytes. */
export interface BenchInstance {
  id: string
  service: string
  /** The JSON body of its registration and of every heartbeat. */
  body: string
}

export const PREFIX = '/registry/v1'
export const AUTHORIZATION = `Basic ${Buffer.from('admin:').toString('base64')}`

const TEAMS = ['payments', 'catalog', 'identity', 'search', 'fulfilment', 'messaging']
const ZONES = ['eu-west-1a', 'eu-west-1b', 'eu-west-1c']

export function serviceName (index: number): string {
  return `svc-${String(index).padStart(4, '0')}`
}

/** The info of instance `index`, a member of service `index % services`. */
export function instanceInfo (index: number, services: number, extraMetadata: Record<string, string> = {}): { id: string, service: string, info: Record<string, unknown> } {
  const serviceIndex = index % services
  const service = serviceName(serviceIndex)
  const host = `10.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}`
  const port = 8000 + (index % 1000)
  const info = {
    name: service,
    version: `2.${serviceIndex % 17}.${index % 9}`,
    status: 'OK',
    url: `http://${host}:${port}/`,
    description: `Service ${service}: takes requests from the storefront and keeps its own ledger of state`,
    metadata: {
      zone: ZONES[index % ZONES.length]!,
      region: 'eu-west-1',
      team: TEAMS[serviceIndex % TEAMS.length]!,
      commit: (0x9f3c2ab + index * 7919).toString(16).slice(-7),
      protocol: 'http/1.1',
      ...extraMetadata
    },
    balancerOptions: { weight: 1 + (index % 3), maxConnections: 200, slowStart: '30s' }
  }
  return { id: `${service}:${host}:${port}`, service, info }
}

export function instance (index: number, services: number, extraMetadata?: Record<string, string>): BenchInstance {
  const { id, service, info } = instanceInfo(index, services, extraMetadata)
  return { id, service, body: JSON.stringify(info) }
}

/** `count` instances spread evenly over `services` services. */
export function instances (count: number, services: number): BenchInstance[] {
  return Array.from({ length: count }, (_, index) => instance(index, services))
}

export function instancePath (id: string): string {
  return `${PREFIX}/instances/${id}`
}
