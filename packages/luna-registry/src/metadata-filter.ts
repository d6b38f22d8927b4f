import { InvalidMetadataFilterError } from './errors.js'

/** Metadata entries an instance must all have, key and value alike. */
export type MetadataFilter = ReadonlyArray<readonly [key: string, value: string]>

/** How a metadata filter is written in a query string: `metadata.zone=eu-1`. */
export const METADATA_QUERY_PREFIX = 'metadata.'
/** The most entries one filter may name: as many as an instance may have. */
export const METADATA_FILTER_MAX_ENTRIES = 64

/**
 * Checks one entry of a filter against the rules metadata follows (keys of 1–128 characters,
 * values of at most 512) and adds it to `filter`; `where` names it in the error
 * (`querystring/metadata.zone`, `headers/x-luna-metadata-zone`).
 */
export function addMetadataEntry (filter: Array<[string, string]>, where: string, key: string, value: unknown): void {
  if (key.length === 0 || key.length > 128) throw new InvalidMetadataFilterError(where, 'must name a metadata key of 1 to 128 characters')
  const values = Array.isArray(value) ? value : [value]
  for (const one of values) {
    if (typeof one !== 'string') throw new InvalidMetadataFilterError(where, 'must be a string')
    if (one.length > 512) throw new InvalidMetadataFilterError(where, 'must NOT have more than 512 characters')
    filter.push([key, one])
  }
  if (filter.length > METADATA_FILTER_MAX_ENTRIES) throw new InvalidMetadataFilterError(where, `is one metadata filter too many: at most ${METADATA_FILTER_MAX_ENTRIES}`)
}

/**
 * The metadata filter of a parsed query string: every `metadata.KEY=VALUE` parameter, repeatable,
 * all to match; `undefined` when there is none.
 */
export function metadataFilterOf (query: Readonly<Record<string, unknown>>): MetadataFilter | undefined {
  let filter: Array<[string, string]> | undefined
  for (const name in query) {
    if (!name.startsWith(METADATA_QUERY_PREFIX)) continue
    filter ??= []
    addMetadataEntry(filter, `querystring/${name}`, name.slice(METADATA_QUERY_PREFIX.length), query[name])
  }
  return filter
}

/** Whether `metadata` has every entry of `filter`. */
export function matchesMetadata (metadata: Readonly<Record<string, string>>, filter: MetadataFilter | undefined): boolean {
  if (filter === undefined) return true
  for (const [key, value] of filter) if (!Object.hasOwn(metadata, key) || metadata[key] !== value) return false
  return true
}
