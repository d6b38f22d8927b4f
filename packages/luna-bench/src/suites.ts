import type { Suite } from './suite.js'
import { detection } from './suites/detection.js'
import { fanout } from './suites/fanout.js'
import { gateway } from './suites/gateway.js'
import { model } from './suites/model.js'
import { heartbeats } from './suites/heartbeats.js'
import { nginxMode } from './suites/nginx-mode.js'
import { panel } from './suites/panel.js'
import { profile, profileNewBodies } from './suites/profile.js'
import { redis } from './suites/redis.js'
import { redisCluster } from './suites/redis-cluster.js'
import { scale } from './suites/scale.js'
import { slowReaders } from './suites/slow-readers.js'
import { soakSuite } from './suites/soak.js'

/**
 * Every suite, in run order. A suite is one entry; a run that names no suite runs those marked
 * `inFullRun`.
 */
export const SUITES: readonly Suite[] = [
  heartbeats,
  redis,
  redisCluster,
  scale,
  fanout,
  detection,
  gateway,
  nginxMode,
  slowReaders,
  panel,
  profile,
  profileNewBodies,
  soakSuite,
  model
]
