import type * as Registry from 'luna-registry'
import t from 'tap'
import { EVENT_TYPES } from '../src/index.js'
import type * as Client from '../src/index.js'

// Checked by the compiler (`tsc -p tsconfig.test.json`): each line fails to compile if the
// client's wire types and the registry's drift apart in either direction.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
function same<A, B> (check: Same<A, B>): Same<A, B> { return check }

const checks = {
  InstanceInfo: same<Client.InstanceInfo, Registry.InstanceInfo>(true),
  InstanceView: same<Client.InstanceView, Registry.InstanceView>(true),
  ServiceView: same<Client.ServiceView, Registry.ServiceView>(true),
  RegistryEvent: same<Client.RegistryEvent, Registry.RegistryEvent>(true),
  RegisteredEvent: same<Client.RegisteredEvent, Registry.RegisteredEvent>(true),
  UpdatedEvent: same<Client.UpdatedEvent, Registry.UpdatedEvent>(true),
  StatusEvent: same<Client.StatusEvent, Registry.StatusEvent>(true),
  DeregisteredEvent: same<Client.DeregisteredEvent, Registry.DeregisteredEvent>(true),
  EvictedEvent: same<Client.EvictedEvent, Registry.EvictedEvent>(true),
  MaintenanceEvent: same<Client.MaintenanceEvent, Registry.MaintenanceEvent>(true),
  ProtectionEvent: same<Client.ProtectionEvent, Registry.ProtectionEvent>(true),
  StatusReason: same<Client.StatusReason, Registry.StatusReason>(true),
  InstanceStatus: same<Client.InstanceStatus, Registry.InstanceStatus>(true),
  ServiceStatus: same<Client.ServiceStatus, Registry.ServiceStatus>(true),
  RegistryEventType: same<Client.RegistryEventType, Registry.RegistryEventType>(true)
}

t.test('the wire types match the registry\'s, both ways', async (t) => {
  t.ok(Object.values(checks).every((check) => check), 'every pair compiled as the same type')
})

t.test('EVENT_TYPES lists exactly the registry\'s event types', async (t) => {
  // A record over the registry's union must name every type, and no other, to compile.
  const registryTypes: Record<Registry.RegistryEventType, true> = {
    registered: true, updated: true, status: true, deregistered: true, evicted: true, maintenance: true, protection: true
  }
  t.same([...EVENT_TYPES].sort(), Object.keys(registryTypes).sort())
})
