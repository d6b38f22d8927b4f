/** What a run measures and for how long; every value can be set from the environment. */
export interface BenchConfig {
  /** Seconds of each measured load round. */
  duration: number
  /** Seconds of load on each server before its first measured round. */
  warmup: number
  /** Measured rounds per side in an A/B comparison. */
  rounds: number
  /** Concurrent connections of the load generator. */
  connections: number
  /** Registered instances the heartbeat load is spread over. */
  instances: number
  /** Event stream subscribers in the fan-out suite. */
  subscribers: number
  /** Registered instances in the fan-out suite: each subscriber's snapshot holds them all. */
  fanoutInstances: number
  /** Registrations whose delivery delay the fan-out suite measures. */
  registrations: number
  /** Instances registered and left to time out in the detection suite. */
  detectionInstances: number
  /** Clients that request a large answer and never read it (slow-readers). */
  slowReaders: number
  /** Minutes of the soak, per store. */
  soakMinutes: number
  /** Seconds of the longer model-based run (model). */
  modelSeconds: number
}

interface Knob {
  env: string
  key: keyof BenchConfig
  fallback: number
  min: number
  help: string
}

export const KNOBS: readonly Knob[] = [
  { env: 'BENCH_DURATION', key: 'duration', fallback: 10, min: 1, help: 'seconds per measured load round' },
  { env: 'BENCH_WARMUP', key: 'warmup', fallback: 5, min: 0, help: 'seconds of warm-up load per server' },
  { env: 'BENCH_ROUNDS', key: 'rounds', fallback: 3, min: 1, help: 'measured rounds per side, alternating' },
  { env: 'BENCH_CONNECTIONS', key: 'connections', fallback: 50, min: 1, help: 'load generator connections' },
  { env: 'BENCH_INSTANCES', key: 'instances', fallback: 1000, min: 1, help: 'instances the heartbeats are spread over' },
  { env: 'BENCH_SUBSCRIBERS', key: 'subscribers', fallback: 1000, min: 1, help: 'event stream subscribers (fan-out)' },
  { env: 'BENCH_FANOUT_INSTANCES', key: 'fanoutInstances', fallback: 100, min: 1, help: 'instances registered in the fan-out suite' },
  { env: 'BENCH_REGISTRATIONS', key: 'registrations', fallback: 200, min: 1, help: 'registrations timed to their event (fan-out)' },
  { env: 'BENCH_DETECTION_INSTANCES', key: 'detectionInstances', fallback: 200, min: 1, help: 'instances left to time out (detection)' },
  { env: 'BENCH_SLOW_READERS', key: 'slowReaders', fallback: 200, min: 1, help: 'clients that never read their answer (slow-readers)' },
  { env: 'BENCH_SOAK_MINUTES', key: 'soakMinutes', fallback: 10, min: 0.5, help: 'minutes of the soak, per store (soak)' },
  { env: 'BENCH_MODEL_SECONDS', key: 'modelSeconds', fallback: 60, min: 1, help: 'seconds of random request sequences per store (model)' }
]

/** Reads the knobs from `env`; a value that is not a number at or above its minimum is an error. */
export function readConfig (env: NodeJS.ProcessEnv): BenchConfig {
  const config = {} as BenchConfig
  for (const knob of KNOBS) {
    const raw = env[knob.env]
    const value = raw === undefined || raw === '' ? knob.fallback : Number(raw)
    if (!Number.isFinite(value) || value < knob.min) {
      throw new Error(`${knob.env} must be a number of at least ${knob.min}, got ${JSON.stringify(raw)}`)
    }
    config[knob.key] = knob.key === 'duration' || knob.key === 'warmup' || knob.key === 'soakMinutes' ? value : Math.round(value)
  }
  return config
}
