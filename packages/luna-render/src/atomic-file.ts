import { randomBytes } from 'node:crypto'
import { readFile, rename, rm, writeFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

/** The file's text, or `undefined` when there is none. */
export async function readIfPresent (path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

/**
 * Replaces `path` with `text` so that a reader (nginx, reloading) sees the old file or the new
 * one, never half of one: a temporary file in the same directory (a rename is atomic only within
 * one file system), then a rename over it. The temporary name ends in `.tmp`, so an
 * `include *.conf` never picks it up.
 */
export async function writeAtomically (path: string, text: string): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
  try {
    await writeFile(temporary, text, { mode: 0o644 })
    await rename(temporary, path)
  } catch (error) {
    await rm(temporary, { force: true })
    throw error
  }
}

/** Puts back what `readIfPresent` read: the old text, or no file at all. */
export async function restore (path: string, previous: string | undefined): Promise<void> {
  if (previous === undefined) await rm(path, { force: true })
  else await writeAtomically(path, previous)
}
