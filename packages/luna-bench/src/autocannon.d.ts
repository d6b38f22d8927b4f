// The parts of autocannon 8's programmatic API this package uses (it ships no types).
declare module 'autocannon' {
  export interface AutocannonRequest {
    method?: string
    path?: string
    headers?: Record<string, string>
    body?: string | Buffer
    /** Called before each send of this request: what it returns is sent (rebuilt every time). */
    setupRequest?: (request: AutocannonRequest) => AutocannonRequest
  }

  export interface AutocannonOptions {
    url: string
    connections?: number
    /** Seconds. */
    duration?: number
    pipelining?: number
    /** Seconds before a request counts as timed out. */
    timeout?: number
    method?: string
    headers?: Record<string, string>
    body?: string | Buffer
    /** Each connection cycles through these in order. */
    requests?: AutocannonRequest[]
  }

  export interface AutocannonHistogram {
    average: number
    mean: number
    stddev: number
    min: number
    max: number
    p50: number
    p90: number
    p97_5: number
    p99: number
  }

  export interface AutocannonResult {
    /** Per-second samples of completed requests, plus totals. */
    requests: AutocannonHistogram & { total: number, sent: number }
    /** Milliseconds. */
    latency: AutocannonHistogram
    throughput: AutocannonHistogram & { total: number }
    errors: number
    timeouts: number
    non2xx: number
    resets: number
    /** Seconds. */
    duration: number
    statusCodeStats: Record<string, { count: number }>
  }

  export default function autocannon (options: AutocannonOptions): Promise<AutocannonResult>
}
