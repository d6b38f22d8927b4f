import type { ServiceListing } from './views.js'
import { DEFAULT_BALANCER_OPTIONS, NO_METADATA } from './records.js'
import type { InstanceInfo, InstanceView, ServiceView } from './schemas.js'

/** The serialiser of lists and errors: built field by field, they need no schema to filter them. */
export const plainJson = (data: unknown): string => JSON.stringify(data)

/**
 * The same characters in one flat string. Text built by `+` (and by `JSON.stringify`, past a few
 * dozen characters) is a tree of pieces: each write to a socket copies it flat again, and kept for
 * good it costs a node per piece. Through UTF-8 and back is exact for JSON, which escapes lone
 * surrogates.
 */
function flat (text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8')
}

/**
 * The parts of an instance's view that only its info decides, as JSON in the schema's order: up
 * to the URL, and the balancer options and metadata that follow the statuses. The info is a
 * remembered body's, frozen, so these stay true for as long as the record holds its objects.
 */
export interface InfoJson {
  head: string
  tail: string
}

/** What the two parts are written from: a body's info, or a view, which has the same fields. */
type InfoFields = Pick<InstanceInfo, 'name' | 'description' | 'version' | 'url'> & { balancerOptions?: object, metadata?: object }

export function infoParts (instanceId: string, info: Readonly<InfoFields>): InfoJson {
  let head = '{"instanceId":' + JSON.stringify(instanceId) + ',"name":' + JSON.stringify(info.name)
  if (info.description !== undefined) head += ',"description":' + JSON.stringify(info.description)
  head += ',"version":' + JSON.stringify(info.version) + ',"url":' + JSON.stringify(info.url)
  const tail = ',"balancerOptions":' + JSON.stringify(info.balancerOptions ?? DEFAULT_BALANCER_OPTIONS) +
    ',"metadata":' + JSON.stringify(info.metadata ?? NO_METADATA)
  return { head, tail }
}

/** The two parts, flat: for those that are kept and written again and again. */
export function flatInfoJson ({ head, tail }: InfoJson): InfoJson {
  return { head: flat(head), tail: flat(tail) }
}

/** Whether `view` shows `info` as `infoJson` wrote it: the same strings and the very same objects. */
export function showsInfo (view: InstanceView, info: Readonly<InstanceInfo>): boolean {
  return view.metadata === (info.metadata ?? NO_METADATA) &&
    view.balancerOptions === (info.balancerOptions ?? DEFAULT_BALANCER_OPTIONS) &&
    view.name === info.name && view.version === info.version && view.url === info.url &&
    view.description === info.description
}

const STATUSES: Readonly<Record<string, Readonly<Record<string, string>> | undefined>> = {
  OK: { OK: ',"status":"OK","reportedStatus":"OK"', DOWN: ',"status":"OK","reportedStatus":"DOWN"' },
  DOWN: { OK: ',"status":"DOWN","reportedStatus":"OK"', DOWN: ',"status":"DOWN","reportedStatus":"DOWN"' }
}

function statusesJson (view: InstanceView): string {
  return STATUSES[view.status]?.[view.reportedStatus] ??
    ',"status":' + JSON.stringify(view.status) + ',"reportedStatus":' + JSON.stringify(view.reportedStatus)
}

/**
 * The JSON of a single view, field by field in the schema's order. With the text of its info
 * (a remembered body's, most heartbeats) only the statuses and times are added to it; without,
 * that text is written from the view itself, a third of the time of the schema-compiled
 * serialiser, which walks the two open-ended objects key by key.
 */
export function viewJson (view: InstanceView, info: InfoJson = infoParts(view.instanceId, view)): string {
  let json = info.head + statusesJson(view) + info.tail
  // ISO 8601 timestamps need no escaping.
  json += ',"registeredAt":"' + view.registeredAt + '","lastHeartbeat":"' + view.lastHeartbeat + '"'
  if (view.downSince !== undefined) json += ',"downSince":"' + view.downSince + '"'
  if (view.maintenance !== undefined) json += ',"maintenance":{"reason":' + JSON.stringify(view.maintenance.reason) + ',"since":"' + view.maintenance.since + '"}'
  return json + '}'
}

/** A service's JSON up to the opening bracket of its instances. */
function serviceHead (service: Omit<ServiceView, 'instances'>): string {
  return '{"name":' + JSON.stringify(service.name) + ',"description":' + JSON.stringify(service.description) +
    ',"status":' + JSON.stringify(service.status) + ',"instancesOnline":' + String(service.instancesOnline) +
    ',"instancesTotal":' + String(service.instancesTotal) + ',"instances":['
}

function serviceJson (service: ServiceView, writeView: (view: InstanceView) => string): string {
  return serviceHead(service) + service.instances.map(writeView).join(',') + ']}'
}

/**
 * The JSON of what the service routes answer but lists (those are written by `serviceListJson`):
 * one service, or one instance (a pick), each field in the schema's order, every view written by
 * `writeView` (from the text kept with a remembered body where there is one); anything else,
 * errors included, as `JSON.stringify` writes it.
 */
export function servicesJson (data: unknown, writeView: (view: InstanceView) => string): string {
  if (typeof data === 'object' && data !== null && !Array.isArray(data)) {
    if ('instances' in data) return serviceJson(data as ServiceView, writeView)
    if ('instanceId' in data) return writeView(data as InstanceView)
  }
  return JSON.stringify(data)
}

/**
 * The JSON of a list of instance views, the same characters as `JSON.stringify(views)`, in
 * pieces of at least `size` characters (the last one may be shorter): a list is written as fast
 * as its reader takes it, never all at once.
 */
export function * instanceListJson (views: Iterable<InstanceView>, writeView: (view: InstanceView) => string, size: number): Generator<string, void, undefined> {
  let piece = '['
  let first = true
  for (const view of views) {
    piece += first ? writeView(view) : ',' + writeView(view)
    first = false
    if (piece.length >= size) {
      yield piece
      piece = ''
    }
  }
  yield piece + ']'
}

/** The same for a list of services, a service's instances cut into pieces like any other views. */
export function * serviceListJson (services: Iterable<ServiceListing>, writeView: (view: InstanceView) => string, size: number): Generator<string, void, undefined> {
  let piece = '['
  let firstService = true
  for (const service of services) {
    piece += firstService ? serviceHead(service) : ',' + serviceHead(service)
    firstService = false
    let first = true
    for (const view of service.instances) {
      piece += first ? writeView(view) : ',' + writeView(view)
      first = false
      if (piece.length >= size) {
        yield piece
        piece = ''
      }
    }
    piece += ']}'
  }
  yield piece + ']'
}
