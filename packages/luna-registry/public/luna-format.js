// Formatting, as the server does it: the same words for the same moments, live or rendered.

/** Descriptions longer than this are cut on the overview; the service page shows them whole. */
const DESCRIPTION_LENGTH = 160

export function since (elapsed) {
  const seconds = Math.max(0, Math.floor(elapsed / 1000))
  if (seconds < 60) return `${seconds} s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 60) return `${minutes} min`
  const hours = Math.floor(minutes / 60)
  if (hours < 48) return `${hours} h`
  return `${Math.floor(hours / 24)} d`
}

export function ago (elapsed) {
  return elapsed < 1000 ? 'just now' : `${since(elapsed)} ago`
}

export function exact (iso) {
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`
}

export function shorten (text, length = DESCRIPTION_LENGTH) {
  const chars = Array.from(text)
  return chars.length <= length ? text : `${chars.slice(0, length - 1).join('').trimEnd()}…`
}

export function linkable (url) {
  return /^https?:\/\//i.test(url)
}

const collator = new Intl.Collator('en', { numeric: true })

export function versionsOf (instances) {
  const counts = new Map()
  for (const instance of instances) counts.set(instance.version, (counts.get(instance.version) ?? 0) + 1)
  return [...counts.keys()].sort(collator.compare).map((version) => ({ version, count: counts.get(version) }))
}

/**
 * DOWN first, then by key in natural order (`…:8080`, `…0.9`, `…0.10`: numbers by their value):
 * the order the server renders.
 */
export function downFirst (statusA, keyA, statusB, keyB) {
  const rank = (statusA === 'DOWN' ? 0 : 1) - (statusB === 'DOWN' ? 0 : 1)
  if (rank !== 0) return rank
  return collator.compare(keyA, keyB) || (keyA < keyB ? -1 : keyA > keyB ? 1 : 0)
}
