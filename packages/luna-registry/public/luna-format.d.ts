// Types of luna-format.js, the panel's formatting, shared by the browser and the server's render.

export function since (elapsedMs: number): string
export function ago (elapsedMs: number): string
export function exact (iso: string): string
export function shorten (text: string, length?: number): string
export function linkable (url: string): boolean
export interface VersionCount { version: string, count: number }
export function versionsOf (instances: ReadonlyArray<{ version: string }>): VersionCount[]
export function downFirst (statusA: string, keyA: string, statusB: string, keyB: string): number
