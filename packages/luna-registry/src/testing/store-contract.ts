import assert from 'node:assert/strict'
import type { GuardStore, InstanceRecord, RecentTimeout, RegistryStore } from '../store.js'

/**
 * Declares one case of the contract. tap: `(name, fn) => t.test(name, async (t) => { await fn(); t.pass(name) })`;
 * node:test: `test`; vitest: `it`. A case fails by throwing (the checks use `node:assert`).
 */
export type DeclareCase = (name: string, fn: () => Promise<void>) => unknown

export interface StoreContractOptions {
  /** A fresh, empty store for each case. It is closed when the case ends. */
  create: () => RegistryStore | Promise<RegistryStore>
  /** Registers a case with the test framework in use. */
  test: DeclareCase
}

/** A complete record with every optional part present; override what a case needs. */
export function sampleRecord (overrides: Partial<InstanceRecord> = {}): InstanceRecord {
  const instanceId = overrides.instanceId ?? 'orders:10.0.0.1:8080'
  // Frozen all the way down, as the registry hands records to stores.
  return {
    instanceId,
    name: instanceId.slice(0, instanceId.indexOf(':')),
    description: 'Takes orders',
    version: '1.2.3-beta',
    url: 'http://10.0.0.1:8080/',
    status: 'OK',
    balancerOptions: Object.freeze({ weight: 3, zone: 'eu-1', nested: Object.freeze({ a: Object.freeze([1, 2]) }) }),
    metadata: Object.freeze({ region: 'eu', 'team.owner': 'checkout' }),
    registeredAt: 1_700_000_000_000,
    lastHeartbeat: 1_700_000_000_000,
    ...overrides
  }
}

function withoutRegisteredAt (record: InstanceRecord): Omit<InstanceRecord, 'registeredAt'> {
  const { registeredAt: _, ...update } = record
  return update
}

function ids (records: ReadonlyArray<Readonly<InstanceRecord>>): string[] {
  return records.map((record) => record.instanceId).sort()
}

/**
 * The semantics every store must have, runnable unchanged against any implementation:
 * `storeContract({ create: () => new MyStore(), test })`.
 */
export function storeContract ({ create, test }: StoreContractOptions): void {
  const check = (name: string, body: (store: RegistryStore) => Promise<void>): void => {
    test(name, async () => {
      const store = await create()
      try {
        await body(store)
      } finally {
        await store.close()
      }
    })
  }

  check('ping, where the store has it, resolves while the store works', async (store) => {
    if (store.ping === undefined) return
    await store.ping()
    await store.register(sampleRecord())
    await store.ping()
  })

  check('register creates an instance and says so', async (store) => {
    const record = sampleRecord()
    const result = await store.register(record)
    assert.equal(result.created, true)
    assert.deepEqual(result.instance, record)
    assert.deepEqual(await store.get(record.instanceId), record)
    assert.deepEqual(ids(await store.list()), [record.instanceId])
  })

  check('register replaces an existing instance whole and says so', async (store) => {
    await store.register(sampleRecord())
    const replacement = sampleRecord({
      version: '2.0.0',
      status: 'DOWN',
      description: undefined,
      metadata: {},
      balancerOptions: { weight: 0 },
      registeredAt: 1_700_000_500_000,
      lastHeartbeat: 1_700_000_500_000
    })
    delete replacement.description
    const result = await store.register(replacement)
    assert.equal(result.created, false)
    assert.deepEqual(result.instance, replacement)
    const stored = await store.get(replacement.instanceId)
    assert.deepEqual(stored, replacement)
    assert.equal(stored?.description, undefined)
    assert.equal((await store.list()).length, 1)
  })

  check('every field survives the round trip exactly', async (store) => {
    const record = sampleRecord({
      description: 'Ünïcödé <b>&amp;</b> "quotes" \n newline',
      metadata: { empty: '', long: 'x'.repeat(512), 'with:colon': 'a:b' },
      balancerOptions: { weight: 1000, flag: true, ratio: 0.25, none: null, list: ['a', 1] },
      registeredAt: 1,
      lastHeartbeat: 8_640_000_000_000
    })
    await store.register(record)
    assert.deepEqual(await store.get(record.instanceId), record)
    assert.deepEqual((await store.list({ service: record.name }))[0], record)
  })

  check('an instance without a description comes back without one', async (store) => {
    const record = sampleRecord()
    delete record.description
    await store.register(record)
    const stored = await store.get(record.instanceId)
    assert.equal(stored?.description, undefined)
    assert.deepEqual(stored, record)
  })

  check('heartbeat replaces the info of an existing instance and keeps registeredAt', async (store) => {
    const original = sampleRecord()
    await store.register(original)
    const update = withoutRegisteredAt(sampleRecord({ version: '1.2.4', lastHeartbeat: original.lastHeartbeat + 10_000, metadata: { region: 'us' } }))
    const result = await store.heartbeat(update)
    const expected = { ...update, registeredAt: original.registeredAt }
    assert.deepEqual(result, { instance: expected, previous: original, timedOut: false })
    assert.deepEqual(await store.get(original.instanceId), expected)
    assert.equal((await store.list()).length, 1)
  })

  check('a heartbeat that repeats the info hands back the previous record with its own times', async (store) => {
    const t0 = 1_700_000_000_000
    const original = sampleRecord({ status: 'DOWN', reportedDownSince: t0, lastHeartbeat: t0, registeredAt: t0 - 1000 })
    await store.register(original)
    const update = withoutRegisteredAt(sampleRecord({ status: 'DOWN', reportedDownSince: t0 + 5000, lastHeartbeat: t0 + 5000 }))
    const expected = { ...update, registeredAt: t0 - 1000, reportedDownSince: t0 }
    assert.deepEqual(await store.heartbeat(update), { instance: expected, previous: original, timedOut: false })
    const later = withoutRegisteredAt(sampleRecord({ status: 'DOWN', reportedDownSince: t0 + 9000, lastHeartbeat: t0 + 9000 }))
    assert.deepEqual(await store.heartbeat(later), {
      instance: { ...later, registeredAt: t0 - 1000, reportedDownSince: t0 },
      previous: expected,
      timedOut: false
    })
    assert.deepEqual(await store.get(original.instanceId), { ...later, registeredAt: t0 - 1000, reportedDownSince: t0 })
  })

  check('heartbeats sent together are each answered for themselves, in the order sent', async (store) => {
    const t0 = 1_700_000_000_000
    const records = Array.from({ length: 300 }, (_, i) => sampleRecord({ instanceId: `orders:10.0.${i >> 8}.${i & 255}:8080`, registeredAt: t0 + i, lastHeartbeat: t0 + i }))
    for (const record of records) await store.register(record)
    const beat = (record: InstanceRecord, at: number, version = record.version): Omit<InstanceRecord, 'registeredAt'> =>
      withoutRegisteredAt({ ...record, version, lastHeartbeat: at })
    const first = records[0]!
    const results = await Promise.all([
      ...records.map(async (record, i) => await store.heartbeat(beat(record, t0 + 10_000 + i))),
      store.heartbeat(beat(sampleRecord({ instanceId: 'orders:10.9.9.9:8080' }), t0 + 20_000)),
      store.heartbeat(beat(first, t0 + 30_000, '2.0.0')),
      store.heartbeat(beat(first, t0 + 40_000, '3.0.0'))
    ])
    records.forEach((record, i) => {
      assert.deepEqual(results[i], { instance: { ...beat(record, t0 + 10_000 + i), registeredAt: t0 + i }, previous: record, timedOut: false })
    })
    assert.equal(results[300], undefined, 'an unknown instance among them: nothing happens to it')
    assert.equal(await store.get('orders:10.9.9.9:8080'), undefined)
    assert.equal(results[301]?.previous.version, first.version)
    assert.equal(results[302]?.previous.version, '2.0.0', 'two for one instance: the later sees the earlier')
    assert.deepEqual(await store.get(first.instanceId), { ...beat(first, t0 + 40_000, '3.0.0'), registeredAt: t0 })
  })

  check('reportedDownSince is kept while the instance keeps reporting DOWN', async (store) => {
    const t0 = 1_700_000_000_000
    await store.register(sampleRecord({ status: 'DOWN', reportedDownSince: t0, lastHeartbeat: t0, registeredAt: t0 }))
    const again = await store.heartbeat(withoutRegisteredAt(sampleRecord({ status: 'DOWN', reportedDownSince: t0 + 5000, lastHeartbeat: t0 + 5000 })))
    assert.equal(again?.instance.reportedDownSince, t0, 'still DOWN: the first time counts')
    const ok = sampleRecord({ status: 'OK', lastHeartbeat: t0 + 10_000 })
    delete ok.reportedDownSince
    const up = await store.heartbeat(withoutRegisteredAt(ok))
    assert.equal(up?.instance.reportedDownSince, undefined, 'OK again: no longer down')
    const down = await store.heartbeat(withoutRegisteredAt(sampleRecord({ status: 'DOWN', reportedDownSince: t0 + 15_000, lastHeartbeat: t0 + 15_000 })))
    assert.equal(down?.instance.reportedDownSince, t0 + 15_000, 'DOWN anew: from now')
  })

  check('register tells what it replaced', async (store) => {
    const first = sampleRecord()
    assert.deepEqual(await store.register(first), { created: true, instance: first, timedOut: false })
    const second = sampleRecord({ version: '9', registeredAt: first.registeredAt + 1, lastHeartbeat: first.lastHeartbeat + 1 })
    assert.deepEqual(await store.register(second), { created: false, instance: second, previous: first, timedOut: false })
  })

  check('heartbeat for an unknown instance writes nothing', async (store) => {
    const result = await store.heartbeat(withoutRegisteredAt(sampleRecord()))
    assert.equal(result, undefined)
    assert.equal(await store.get(sampleRecord().instanceId), undefined)
    assert.deepEqual(await store.list(), [])
    assert.deepEqual(await store.list({ service: 'orders' }), [])
  })

  check('heartbeat never resurrects a removed instance', async (store) => {
    const record = sampleRecord()
    await store.register(record)
    assert.equal(await store.remove(record.instanceId), true)
    assert.equal(await store.heartbeat(withoutRegisteredAt(record)), undefined)
    assert.equal(await store.get(record.instanceId), undefined)
    assert.deepEqual(await store.list({ service: record.name }), [])
  })

  check('remove deletes an instance and its index entries, once', async (store) => {
    const record = sampleRecord()
    await store.register(record)
    assert.equal(await store.remove(record.instanceId), true)
    assert.equal(await store.remove(record.instanceId), false)
    assert.equal(await store.get(record.instanceId), undefined)
    assert.deepEqual(await store.list(), [])
    assert.deepEqual(await store.list({ service: record.name }), [])
    assert.equal(await store.remove('never:registered.example:1'), false)
  })

  check('list filters by service, exactly and case-sensitively', async (store) => {
    const records = [
      sampleRecord({ instanceId: 'orders:10.0.0.1:8080' }),
      sampleRecord({ instanceId: 'orders:10.0.0.2:8080' }),
      sampleRecord({ instanceId: 'Orders:10.0.0.3:8080' }),
      sampleRecord({ instanceId: 'orders-eu:10.0.0.4:8080' }),
      sampleRecord({ instanceId: 'billing:[::1]:9000' })
    ]
    for (const record of records) await store.register(record)
    assert.deepEqual(ids(await store.list()), ids(records))
    assert.deepEqual(ids(await store.list({ service: 'orders' })), ['orders:10.0.0.1:8080', 'orders:10.0.0.2:8080'])
    assert.deepEqual(ids(await store.list({ service: 'Orders' })), ['Orders:10.0.0.3:8080'])
    assert.deepEqual(ids(await store.list({ service: 'billing' })), ['billing:[::1]:9000'])
    assert.deepEqual(await store.list({ service: 'order' }), [])
    assert.deepEqual(await store.list({ service: 'nobody' }), [])
  })

  check('a record handed out stays as it was when the instance changes', async (store) => {
    const record = sampleRecord()
    await store.register(record)
    const before = await store.get(record.instanceId)
    await store.heartbeat({ ...withoutRegisteredAt(record), version: '2.0.0', metadata: Object.freeze({ region: 'us' }), lastHeartbeat: record.lastHeartbeat + 1 })
    assert.equal(before?.version, '1.2.3-beta')
    assert.equal(before?.metadata['region'], 'eu')
    assert.equal((await store.get(record.instanceId))?.version, '2.0.0')
  })

  check('concurrent registrations of one id create it exactly once', async (store) => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) =>
      store.register(sampleRecord({ version: `1.0.${i}` }))))
    assert.equal(results.filter((result) => result.created).length, 1)
    assert.equal((await store.list()).length, 1)
  })

  check('concurrent registrations of many ids are all kept', async (store) => {
    const records = Array.from({ length: 50 }, (_, i) => sampleRecord({ instanceId: `svc-${i % 5}:10.0.1.${i}:80` }))
    await Promise.all(records.map((record) => store.register(record)))
    assert.deepEqual(ids(await store.list()), ids(records))
    assert.equal((await store.list({ service: 'svc-3' })).length, 10)
  })

  check('a heartbeat racing a removal never leaves the instance behind', async (store) => {
    for (let round = 0; round < 10; round++) {
      const record = sampleRecord({ instanceId: `race:10.0.2.${round}:80` })
      await store.register(record)
      const [removed] = await Promise.all([
        store.remove(record.instanceId),
        store.heartbeat(withoutRegisteredAt({ ...record, lastHeartbeat: record.lastHeartbeat + 1 }))
      ])
      assert.equal(removed, true)
      assert.equal(await store.get(record.instanceId), undefined)
    }
    assert.deepEqual(await store.list({ service: 'race' }), [])
  })

  check('claimTimedOut hands out each instance past its deadline once, oldest first', async (store) => {
    const t0 = 1_700_000_000_000
    for (const [i, offset] of [[1, 0], [2, 1000], [3, 2000], [4, 3000]] as const) {
      await store.register(sampleRecord({ instanceId: `svc:10.0.3.${i}:80`, registeredAt: t0 + offset, lastHeartbeat: t0 + offset }))
    }
    assert.deepEqual(await store.claimTimedOut(t0 - 1), [])
    assert.deepEqual(ids(await store.claimTimedOut(t0 + 1000)), ['svc:10.0.3.1:80', 'svc:10.0.3.2:80'], 'at or before the limit')
    assert.deepEqual(await store.claimTimedOut(t0 + 1000), [], 'never twice')
    assert.deepEqual(ids(await store.claimTimedOut(t0 + 5000)), ['svc:10.0.3.3:80', 'svc:10.0.3.4:80'])
    assert.equal((await store.list()).length, 4, 'claiming removes nothing')
  })

  check('a heartbeat takes an instance out of the timed-out set and says it was there', async (store) => {
    const t0 = 1_700_000_000_000
    const record = sampleRecord({ registeredAt: t0, lastHeartbeat: t0 })
    await store.register(record)
    assert.equal((await store.claimTimedOut(t0)).length, 1)
    const back = await store.heartbeat(withoutRegisteredAt({ ...record, lastHeartbeat: t0 + 60_000 }))
    assert.equal(back?.timedOut, true)
    assert.deepEqual(await store.evictTimedOut(t0 + 120_000), [], 'a live instance is not evicted')
    assert.deepEqual(await store.claimTimedOut(t0 + 59_999), [], 'its new deadline is later')
    assert.equal((await store.claimTimedOut(t0 + 60_000)).length, 1, 'and it can time out again')
    const registered = await store.register({ ...record, registeredAt: t0 + 70_000, lastHeartbeat: t0 + 70_000 })
    assert.equal(registered.timedOut, true, 'registering again says so too')
    const fresh = await store.heartbeat(withoutRegisteredAt({ ...record, lastHeartbeat: t0 + 80_000 }))
    assert.equal(fresh?.timedOut, false)
  })

  check('claims follow heartbeats, not registration order', async (store) => {
    const t0 = 1_700_000_000_000
    await store.register(sampleRecord({ instanceId: 'svc:a:1', registeredAt: t0, lastHeartbeat: t0 }))
    await store.register(sampleRecord({ instanceId: 'svc:b:1', registeredAt: t0 + 1, lastHeartbeat: t0 + 1 }))
    await store.heartbeat(withoutRegisteredAt(sampleRecord({ instanceId: 'svc:a:1', lastHeartbeat: t0 + 10_000 })))
    assert.deepEqual(ids(await store.claimTimedOut(t0 + 5000)), ['svc:b:1'])
  })

  check('records written with old timestamps are still claimed on time', async (store) => {
    const t0 = 1_700_000_000_000
    await store.register(sampleRecord({ instanceId: 'svc:new:1', registeredAt: t0 + 50_000, lastHeartbeat: t0 + 50_000 }))
    await store.register(sampleRecord({ instanceId: 'svc:old:1', registeredAt: t0, lastHeartbeat: t0 }))
    assert.deepEqual(ids(await store.claimTimedOut(t0 + 10_000)), ['svc:old:1'])
  })

  check('evictTimedOut removes only claimed instances still without a heartbeat, once', async (store) => {
    const t0 = 1_700_000_000_000
    await store.register(sampleRecord({ instanceId: 'svc:gone:1', registeredAt: t0, lastHeartbeat: t0 }))
    await store.register(sampleRecord({ instanceId: 'svc:back:1', registeredAt: t0, lastHeartbeat: t0 }))
    assert.deepEqual(ids(await store.claimTimedOut(t0)), ['svc:back:1', 'svc:gone:1'])
    await store.heartbeat(withoutRegisteredAt(sampleRecord({ instanceId: 'svc:back:1', lastHeartbeat: t0 + 5 })))
    await store.register(sampleRecord({ instanceId: 'svc:late:1', registeredAt: t0 + 1, lastHeartbeat: t0 + 1 }))
    assert.deepEqual(await store.evictTimedOut(t0 - 1), [], 'not yet')
    assert.deepEqual(ids(await store.evictTimedOut(t0 + 1)), ['svc:gone:1'], 'claimed and quiet: removed; back, or never claimed: kept')
    assert.deepEqual(ids(await store.list()), ['svc:back:1', 'svc:late:1'])
    assert.equal(await store.get('svc:gone:1'), undefined)
    assert.deepEqual(await store.evictTimedOut(t0 + 1), [], 'never twice')
  })

  check('a removed instance is neither claimed nor evicted', async (store) => {
    const t0 = 1_700_000_000_000
    await store.register(sampleRecord({ instanceId: 'svc:a:1', registeredAt: t0, lastHeartbeat: t0 }))
    await store.register(sampleRecord({ instanceId: 'svc:b:1', registeredAt: t0, lastHeartbeat: t0 }))
    await store.remove('svc:a:1')
    assert.deepEqual(ids(await store.claimTimedOut(t0)), ['svc:b:1'])
    await store.remove('svc:b:1')
    assert.deepEqual(await store.evictTimedOut(t0), [])
  })
}

/**
 * What a store that keeps the registry's guards (`GuardStore`) must do besides, runnable
 * unchanged against any implementation: `guardContract({ create: () => new MyStore(), test })`.
 */
export function guardContract ({ create, test }: { create: () => (RegistryStore & GuardStore) | Promise<RegistryStore & GuardStore>, test: DeclareCase }): void {
  const check = (name: string, body: (store: RegistryStore & GuardStore) => Promise<void>): void => {
    test(name, async () => {
      const store = await create()
      try {
        await body(store)
      } finally {
        await store.close()
      }
    })
  }

  check('the sweep mark says when deadlines were last looked at, and only moves forward', async (store) => {
    const t0 = 1_700_000_000_000
    assert.equal(await store.markSwept(t0), undefined, 'never before')
    assert.equal(await store.markSwept(t0 + 250), t0)
    assert.equal(await store.markSwept(t0 + 100), t0 + 250, 'a slower process\'s older mark…')
    assert.equal(await store.markSwept(t0 + 500), t0 + 250, '…does not move it back')
  })

  check('recent timeouts are kept after keepAfter, each id once at its latest time', async (store) => {
    const t0 = 1_700_000_000_000
    const sorted = (timeouts: RecentTimeout[]): RecentTimeout[] => timeouts.slice().sort((a, b) => a.instanceId < b.instanceId ? -1 : 1)
    assert.deepEqual(await store.noteTimeouts([], -Infinity), [])
    assert.deepEqual(sorted(await store.noteTimeouts([{ instanceId: 'svc:a:1', at: t0 }, { instanceId: 'svc:b:1', at: t0 + 10 }], -Infinity)),
      [{ instanceId: 'svc:a:1', at: t0 }, { instanceId: 'svc:b:1', at: t0 + 10 }])
    assert.deepEqual(sorted(await store.noteTimeouts([{ instanceId: 'svc:a:1', at: t0 + 20 }, { instanceId: 'svc:b:1', at: t0 + 5 }], t0)),
      [{ instanceId: 'svc:a:1', at: t0 + 20 }, { instanceId: 'svc:b:1', at: t0 + 10 }], 'the latest time of each')
    assert.deepEqual(sorted(await store.noteTimeouts([], t0 + 10)), [{ instanceId: 'svc:a:1', at: t0 + 20 }], 'at or before keepAfter: forgotten')
  })

  check('the protection state changes only from the version read, every field kept', async (store) => {
    assert.deepEqual(await store.readProtection(), { active: false, version: 0 })
    const on = { active: true, version: 1, since: 1_700_000_000_000, reason: '6 of 10 instances (60%) ‘quoted’', timedOut: 6, of: 10, endedAt: 1_600_000_000_000 }
    assert.deepEqual(await store.swapProtection(0, on), { swapped: true, state: on })
    assert.deepEqual(await store.readProtection(), on)
    assert.deepEqual(await store.swapProtection(0, { active: false, version: 1 }), { swapped: false, state: on }, 'another process changed it first')
    const off = { active: false, version: 2, endedAt: 1_700_000_001_000 }
    assert.deepEqual(await store.swapProtection(1, off), { swapped: true, state: off })
    const racing = await Promise.all(Array.from({ length: 10 }, (_, i) => store.swapProtection(2, { active: true, version: 3, since: i })))
    assert.equal(racing.filter((result) => result.swapped).length, 1, 'one of many wins')
  })

  check('maintenance holds are kept apart from the instances: through registration, heartbeat and removal', async (store) => {
    const record = sampleRecord()
    await store.register(record)
    await store.setMaintenance(record.instanceId, { reason: 'disk swap', since: 1 })
    await store.setMaintenance('billing:h:1', { reason: 'not registered', since: 2 })
    await store.heartbeat(withoutRegisteredAt({ ...record, lastHeartbeat: record.lastHeartbeat + 1 }))
    await store.register({ ...record, version: '2' })
    await store.remove(record.instanceId)
    const held = (await store.listMaintenance()).sort(([a], [b]) => a < b ? -1 : 1)
    assert.deepEqual(held, [['billing:h:1', { reason: 'not registered', since: 2 }], [record.instanceId, { reason: 'disk swap', since: 1 }]])
    await store.setMaintenance(record.instanceId, { reason: 'kernel', since: 1 })
    assert.deepEqual((await store.listMaintenance()).find(([id]) => id === record.instanceId), [record.instanceId, { reason: 'kernel', since: 1 }], 'replaced')
    assert.equal(await store.clearMaintenance(record.instanceId), true)
    assert.equal(await store.clearMaintenance(record.instanceId), false)
    assert.deepEqual(await store.listMaintenance(), [['billing:h:1', { reason: 'not registered', since: 2 }]])
  })
}
