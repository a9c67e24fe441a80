// Every system under test, by the environment it runs against, in the order tables list them.

import { system as azureSample } from "./azure-sample.mjs";
import { system as glideIam } from "./glide-iam.mjs";
import { oursGlide, oursIoredis, oursIovalkey, oursNodeRedis } from "./ours.mjs";
import { oursGlideAws, oursIoredisAws, oursNodeRedisAws } from "./ours-aws.mjs";
import { plainGlide, plainIoredis, plainIovalkey, plainNodeRedis } from "./plain.mjs";
import { system as redisEntraid } from "./redis-entraid.mjs";

/** Systems run against startEntraEnvironment(): ours, the plain floor, then the alternatives. */
export const entraSystems = [
  oursIoredis,
  oursNodeRedis,
  oursGlide,
  oursIovalkey,
  plainIoredis,
  plainNodeRedis,
  plainGlide,
  plainIovalkey,
  redisEntraid,
  azureSample,
];

/** Systems run against startAwsEnvironment(): ours, then GLIDE's built-in IAM. */
export const awsSystems = [oursIoredisAws, oursNodeRedisAws, oursGlideAws, glideIam];
