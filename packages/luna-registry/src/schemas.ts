import { Type, type Static } from 'typebox'
import { SERVICE_PATH_PATTERN, SERVICE_NAME_PATTERN } from './instance-id.js'

export const ReportedStatusSchema = Type.Enum(['OK', 'DOWN'])
export const InstanceStatusSchema = Type.Enum(['OK', 'DOWN'])
export const ServiceStatusSchema = Type.Enum(['UP', 'DOWN'])

/**
 * How deep any field of a POST or PUT body (the free-form values under `balancerOptions`, an
 * unknown field) may nest objects and arrays. Bodies are checked for it as they are parsed, before
 * anything walks them: a value nested thousands of levels deep would overflow the stack of every
 * recursive walk, Ajv's and `JSON.stringify` among them.
 */
export const FIELD_MAX_DEPTH = 8

const BalancerOptionsIn = Type.Object({
  weight: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 }))
}, { additionalProperties: true })

// A Record's key schema sets no limits of its own: `propertyNames` does. Its pattern matches every
// key: the default, `^.*$`, leaves out keys with a line break, whose values then went unchecked.
const Metadata = Type.Record(Type.String({ pattern: '^[\\s\\S]*$' }), Type.String({ maxLength: 512 }), {
  maxProperties: 64,
  propertyNames: { minLength: 1, maxLength: 128 }
})

/**
 * The body of POST and PUT. Unknown top-level fields are accepted here and dropped when the
 * record is built, whatever the host app's Ajv settings.
 */
export const InstanceInfoSchema = Type.Object({
  instanceId: Type.Optional(Type.String({ maxLength: 512 })),
  name: Type.String({ minLength: 1, maxLength: 128 }),
  description: Type.Optional(Type.String({ maxLength: 1024 })),
  version: Type.String({ minLength: 1, maxLength: 64 }),
  status: ReportedStatusSchema,
  url: Type.String({ maxLength: 2048, format: 'http-url' }),
  balancerOptions: Type.Optional(BalancerOptionsIn),
  metadata: Type.Optional(Metadata)
})
export type InstanceInfo = Static<typeof InstanceInfoSchema>

// Wildcards, not `:id`, so that ids longer than the router's maxParamLength (100) still route.
export const InstanceParamsSchema = Type.Object({
  '*': Type.String({ maxLength: 512 })
})
export type InstanceParams = Static<typeof InstanceParamsSchema>

/** `''` for the list at `/services/`, a service name, or a service name and `/pick`. */
export const ServiceParamsSchema = Type.Object({
  '*': Type.String({ pattern: SERVICE_PATH_PATTERN })
})

/** The most items a page of `GET /instances` or `GET /services` may ask for with `limit`. */
export const MAX_PAGE_LIMIT = 1000

const Limit = Type.Integer({ minimum: 1, maximum: MAX_PAGE_LIMIT })

/**
 * `metadata.KEY=VALUE`, repeatable: only the instances whose metadata has every entry. The keys
 * are checked as metadata keys are when the filter is read (`metadata-filter.ts`).
 */
const MetadataQuery = {
  patternProperties: { '^metadata\\.': Type.Array(Type.String({ maxLength: 512 }), { maxItems: 64 }) }
}

export const InstanceQuerySchema = Type.Object({
  service: Type.Optional(Type.String({ pattern: SERVICE_NAME_PATTERN })),
  status: Type.Optional(InstanceStatusSchema),
  limit: Type.Optional(Limit),
  /** The last instance id of the previous page. */
  after: Type.Optional(Type.String({ minLength: 1, maxLength: 512 }))
}, MetadataQuery)

export const ServiceQuerySchema = Type.Object({
  status: Type.Optional(ServiceStatusSchema),
  limit: Type.Optional(Limit),
  /** The last service name of the previous page. */
  after: Type.Optional(Type.String({ pattern: SERVICE_NAME_PATTERN }))
}, MetadataQuery)
export type ServiceQuery = Static<typeof ServiceQuerySchema>

/** What a stream carries: every instance (the default), or a summary per service. */
export const EventsViewSchema = Type.Union([Type.Literal('instances'), Type.Literal('summary')])

export const EventsQuerySchema = Type.Object({
  service: Type.Optional(Type.String({ pattern: SERVICE_NAME_PATTERN })),
  view: Type.Optional(EventsViewSchema)
}, MetadataQuery)

export const InstanceViewSchema = Type.Object({
  instanceId: Type.String(),
  name: Type.String(),
  description: Type.Optional(Type.String()),
  version: Type.String(),
  url: Type.String(),
  status: InstanceStatusSchema,
  reportedStatus: ReportedStatusSchema,
  balancerOptions: Type.Object({ weight: Type.Integer() }, { additionalProperties: true }),
  metadata: Type.Record(Type.String(), Type.String()),
  registeredAt: Type.String(),
  lastHeartbeat: Type.String(),
  /** Since when the status has been DOWN; absent while it is OK. */
  downSince: Type.Optional(Type.String()),
  /** Set while an operator holds the instance in maintenance: it is DOWN whatever it reports. */
  maintenance: Type.Optional(Type.Object({ reason: Type.String(), since: Type.String() }))
})
export type InstanceView = Static<typeof InstanceViewSchema>

export const InstanceListSchema = Type.Array(InstanceViewSchema)

export const ServiceViewSchema = Type.Object({
  name: Type.String(),
  description: Type.String(),
  status: ServiceStatusSchema,
  instancesOnline: Type.Integer(),
  instancesTotal: Type.Integer(),
  instances: InstanceListSchema
})
export type ServiceView = Static<typeof ServiceViewSchema>

export const ServiceListSchema = Type.Array(ServiceViewSchema)

/** The longest reason an operator may give for a maintenance hold. */
export const MAINTENANCE_REASON_MAX_LENGTH = 512

/** The body of `PUT /instances/{id}/maintenance`. */
export const MaintenanceBodySchema = Type.Object({
  reason: Type.String({ minLength: 1, maxLength: MAINTENANCE_REASON_MAX_LENGTH })
})
export type MaintenanceBody = Static<typeof MaintenanceBodySchema>

/** Whether mass-expiry protection is on; while it is, why, since when, and the figures that turned it on. */
export const ProtectionSchema = Type.Object({
  active: Type.Boolean(),
  since: Type.Optional(Type.String()),
  reason: Type.Optional(Type.String()),
  timedOut: Type.Optional(Type.Integer()),
  of: Type.Optional(Type.Integer())
})
export type ProtectionView = Static<typeof ProtectionSchema>

/** `GET /summary`: the registry's figures at a glance, as the panel's cards show them. */
export const SummarySchema = Type.Object({
  services: Type.Integer(),
  servicesUp: Type.Integer(),
  instances: Type.Integer(),
  instancesOnline: Type.Integer(),
  protection: ProtectionSchema
})
export type Summary = Static<typeof SummarySchema>

export const SdQuerySchema = Type.Object({
  service: Type.Optional(Type.String({ pattern: SERVICE_NAME_PATTERN, description: 'Only the instances of this service' }))
})

/** A target group of Prometheus's HTTP service discovery. */
export const PrometheusTargetGroupSchema = Type.Object({
  targets: Type.Array(Type.String(), { description: '`host:port`' }),
  labels: Type.Record(Type.String(), Type.String())
})
export type PrometheusTargetGroup = Static<typeof PrometheusTargetGroupSchema>

export const PrometheusTargetGroupsSchema = Type.Array(PrometheusTargetGroupSchema)

export const ErrorSchema = Type.Object({
  statusCode: Type.Integer(),
  code: Type.String(),
  error: Type.String(),
  message: Type.String()
})

/** The response schemas for every error a route can give. */
export const ErrorResponses = { '4xx': ErrorSchema, '5xx': ErrorSchema }
