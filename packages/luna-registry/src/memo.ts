/**
 * Remembers the results of a pure function of a string, up to `size` of them (then starts
 * afresh). Heartbeats repeat the same instance ids and URLs all day: parsing each once per
 * process instead of once per request is most of the cost of checking them.
 */
export function memo<T> (fn: (input: string) => T, size = 16_384): (input: string) => T {
  const cache = new Map<string, T>()
  return (input) => {
    let result = cache.get(input)
    if (result === undefined) {
      if (cache.size >= size) cache.clear()
      result = fn(input)
      cache.set(input, result)
    }
    return result
  }
}
