import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto'

/**
 * Password hashes: `scrypt$N$r$p$salt$hash`, scrypt's cost, block size and parallelism in
 * decimal, then the salt and the derived key in base64url. The parameters travel with the hash,
 * so hashes made with stronger ones later keep working beside the older ones.
 */
export const PASSWORD_HASH_FORMAT = 'scrypt$N$r$p$salt$hash'

/** Node's default cost for scrypt: a verification takes a few tens of milliseconds of one core. */
const COST = 16384
const BLOCK_SIZE = 8
const PARALLELISM = 1
const SALT_BYTES = 16
const KEY_BYTES = 32

// Bounds on what a hash may ask for, so that a mistyped file cannot make one login take minutes
// or gigabytes.
const MAX_COST = 2 ** 20
const MAX_BLOCK_SIZE = 32
const MAX_PARALLELISM = 16
const MIN_BYTES = 16
const MAX_BYTES = 128

const HASH = /^scrypt\$(\d{1,8})\$(\d{1,2})\$(\d{1,2})\$([\w-]+)\$([\w-]+)$/

export interface ParsedHash {
  cost: number
  blockSize: number
  parallelism: number
  salt: Buffer
  key: Buffer
}

function derive (password: string, salt: Buffer, length: number, options: ScryptOptions & { N: number, r: number, p: number }): Promise<Buffer> {
  // scrypt needs 128·N·r bytes; Node refuses anything above its default ceiling unless told.
  const maxmem = 256 * options.N * options.r
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, length, { ...options, maxmem }, (error, key) => { error === null ? resolve(key) : reject(error) })
  })
}

/** The hash, or why `text` is not one Luna can verify. */
export function parsePasswordHash (text: string): ParsedHash | string {
  const match = HASH.exec(text)
  if (match === null) return `must be a hash in the form ${PASSWORD_HASH_FORMAT} (luna-server hash-password makes one), not a password`
  const [cost, blockSize, parallelism] = [Number(match[1]), Number(match[2]), Number(match[3])]
  const salt = Buffer.from(match[4]!, 'base64url')
  const key = Buffer.from(match[5]!, 'base64url')
  if (cost < 2 || cost > MAX_COST || (cost & (cost - 1)) !== 0) return `has an scrypt cost N of ${cost}: it must be a power of 2 from 2 to ${MAX_COST}`
  if (blockSize < 1 || blockSize > MAX_BLOCK_SIZE) return `has an scrypt block size r of ${blockSize}: it must be from 1 to ${MAX_BLOCK_SIZE}`
  if (parallelism < 1 || parallelism > MAX_PARALLELISM) return `has an scrypt parallelism p of ${parallelism}: it must be from 1 to ${MAX_PARALLELISM}`
  for (const [name, bytes] of [['salt', salt], ['hash', key]] as const) {
    if (bytes.length < MIN_BYTES || bytes.length > MAX_BYTES) return `has a ${name} of ${bytes.length} bytes: it must have ${MIN_BYTES} to ${MAX_BYTES}`
  }
  return { cost, blockSize, parallelism, salt, key }
}

/** A new hash of `password`, with a fresh random salt. */
export async function hashPassword (password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES)
  const key = await derive(password, salt, KEY_BYTES, { N: COST, r: BLOCK_SIZE, p: PARALLELISM })
  return `scrypt$${COST}$${BLOCK_SIZE}$${PARALLELISM}$${salt.toString('base64url')}$${key.toString('base64url')}`
}

/** Whether `password` is the one `hash` was made from; the keys are compared in constant time. */
export async function verifyPassword (password: string, hash: ParsedHash): Promise<boolean> {
  const key = await derive(password, hash.salt, hash.key.length, { N: hash.cost, r: hash.blockSize, p: hash.parallelism })
  return timingSafeEqual(key, hash.key)
}
