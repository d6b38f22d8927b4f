import os from 'node:os'

export interface Machine {
  cpu: string
  cores: number
  memoryGB: number
  node: string
  platform: string
  /** 1-minute load average when the run started: other work on the machine shows here. */
  loadAverage: number
}

export function machine (): Machine {
  const cpus = os.cpus()
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGB: Math.round(os.totalmem() / 1024 ** 3),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    loadAverage: os.loadavg()[0] ?? 0
  }
}
