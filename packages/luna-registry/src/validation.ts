import { Ajv, type ErrorObject } from 'ajv'
import type { FastifySchemaCompiler, FastifySchemaValidationError } from 'fastify'
import { bodyAjv, describeErrors, isChecked, passed } from './info-validation.js'

// Query strings and params are strings by nature; only they are coerced.
const coercingAjv = new Ajv({ coerceTypes: 'array', useDefaults: true, removeAdditional: false, allErrors: false, strict: false })

/**
 * Bodies are checked by the registry's own Ajv, and a body that passes is frozen and known as
 * checked, so the registry does not check it again; params and query strings are coerced.
 */
export const validatorCompiler: FastifySchemaCompiler<object> = ({ schema, httpPart }) => {
  if (httpPart !== 'body') return coercingAjv.compile(schema)
  const validate = bodyAjv.compile(schema)
  const check: ReturnType<FastifySchemaCompiler<object>> = (data: unknown): boolean => {
    // A remembered body, handed back by the body parser: it passed when it was first seen.
    if (isChecked(data)) return true
    const valid = validate(data) as boolean
    check.errors = validate.errors
    if (valid && typeof data === 'object' && data !== null) passed(data)
    return valid
  }
  return check
}

/** `body/status must be one of "OK", "DOWN"`: the part, the field and the rule. */
export const schemaErrorFormatter = (errors: FastifySchemaValidationError[], dataVar: string): Error =>
  new Error(describeErrors(errors as ErrorObject[], dataVar))

/** The same, for a route whose wildcard param (`*`) users know as `name`. */
export function wildcardNamed (name: string): typeof schemaErrorFormatter {
  return (errors, dataVar) => schemaErrorFormatter(
    errors.map((error) => dataVar === 'params' ? { ...error, instancePath: error.instancePath.replace(/^\/\*/, `/${name}`) } : error),
    dataVar
  )
}
