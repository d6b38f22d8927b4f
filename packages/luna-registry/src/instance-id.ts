import { memo } from './memo.js'

export interface InstanceIdParts {
  serviceName: string
  domain: string
  port: number
}

export const SERVICE_NAME_RULE = '1-128 characters of A-Z a-z 0-9 . _ - starting with a letter or digit'
export const SERVICE_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$'
/** What may follow `/services/`: nothing (the list), a name, or a name and `/pick`. */
export const SERVICE_PATH_PATTERN = '^(?:[A-Za-z0-9][A-Za-z0-9._-]{0,127}(?:/pick)?)?$'
const SERVICE_NAME = new RegExp(SERVICE_NAME_PATTERN)
// RFC 1123: dot-separated labels of letters, digits and inner hyphens, each 1–63 long, 253 in all.
const HOST_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/
const IPV4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/
const PORT = /^[1-9]\d{0,4}$/

export type ParseResult =
  | { ok: true, parts: InstanceIdParts }
  | { ok: false, reason: string }

export function isServiceName (value: string): boolean {
  return SERVICE_NAME.test(value)
}

function isIPv6 (value: string): boolean {
  if (!/^[0-9A-Fa-f:.]+$/.test(value)) return false
  // URL does the full RFC 4291 parse (compressed forms, embedded IPv4) and throws on anything else.
  try {
    return new URL(`http://[${value}]/`).hostname.startsWith('[')
  } catch {
    return false
  }
}

/** An RFC 1123 hostname that is not a malformed dotted number (`999.1.1.1`). */
export function isHostname (value: string): boolean {
  return value.length <= 253 && !/^[\d.]+$/.test(value) && value.split('.').every((label) => HOST_LABEL.test(label))
}

function domainProblem (domain: string): string | undefined {
  if (domain.startsWith('[')) {
    if (!domain.endsWith(']') || !isIPv6(domain.slice(1, -1))) {
      return `domain "${domain}" is not a valid bracketed IPv6 address`
    }
    return undefined
  }
  if (domain.length === 0) return 'domain is empty'
  if (IPV4.test(domain)) return undefined
  if (/^[\d.]+$/.test(domain)) return `domain "${domain}" is not a valid IPv4 address`
  if (!isHostname(domain)) {
    return `domain "${domain}" is not a valid hostname (RFC 1123), IPv4 address or bracketed IPv6 address`
  }
  return undefined
}

/**
 * Splits `serviceName:domain:port` at the first and the last colon (so a bracketed IPv6 domain
 * keeps its colons) and checks each part. Never rewrites the id: what is valid is used verbatim.
 */
export const parseInstanceId = memo(parse)

function parse (id: string): ParseResult {
  const first = id.indexOf(':')
  const last = id.lastIndexOf(':')
  if (first === -1 || first === last) {
    return { ok: false, reason: 'it must have the form serviceName:domain:port' }
  }
  const serviceName = id.slice(0, first)
  const domain = id.slice(first + 1, last)
  const port = id.slice(last + 1)
  if (!SERVICE_NAME.test(serviceName)) {
    return {
      ok: false,
      reason: `serviceName "${serviceName}" must be ${SERVICE_NAME_RULE}`
    }
  }
  const problem = domainProblem(domain)
  if (problem !== undefined) return { ok: false, reason: problem }
  if (!PORT.test(port) || Number(port) > 65535) {
    return { ok: false, reason: `port "${port}" must be an integer from 1 to 65535` }
  }
  return { ok: true, parts: { serviceName, domain, port: Number(port) } }
}
