declare module 'cluster-key-slot' {
  /** The Redis Cluster hash slot of `key`, its hash tag heeded. */
  export default function calculateSlot (key: string): number
}
