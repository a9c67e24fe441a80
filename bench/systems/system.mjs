// What every system under test provides, so that each scenario runs them all alike. A system is
// one way users keep Redis connections authenticated today (ours, an alternative, or the plain
// client with a static password as the floor); a fleet is `count` of its connections, open.

/**
 * @typedef {object} Fleet
 * @property {number} size How many connections (clients) it holds.
 * @property {(index: number, key: string) => Promise<unknown>} get GET on connection `index % size`.
 * @property {(index: number, key: string, value: string) => Promise<unknown>} set SET on connection `index % size`.
 * @property {() => number | undefined} tokenRequests Tokens the identity provider issued to this
 *   fleet so far (undefined where tokens are signed locally, as in the AWS mode).
 * @property {() => number | undefined} unscheduledFetches Ours only: fetches its manager made
 *   for any reason but a scheduled refresh (the first token, a forced refresh), so far.
 * @property {() => Promise<void>} close Closes every connection and whatever the system started
 *   (timers, managers, providers).
 */

/**
 * @typedef {object} OpenOptions
 * @property {{ app: object, credentials: { username: string, password: string } }} [plainCredentials]
 *   Plain only: the static password to use (from `dayLongCredentials`), rather than one fetched
 *   as the fleet opens.
 * @property {import("@redis-credentials/core").TokenManager} [manager] Ours only: the manager to
 *   bind to (shared between fleets); by default each fleet gets its own over a new app.
 * @property {import("@redis-credentials/core").TokenManagerOptions} [managerOptions] Ours only:
 *   options of the fleet's own manager.
 * @property {number} [tokenSeconds] AWS mode: how long tokens are valid, scaled down with the
 *   connection lifetime. Ours: `awsIam({ expiresInSeconds })` (its manager re-AUTHs every live
 *   connection before then); GLIDE iamConfig: its `refreshIntervalSeconds` (GLIDE's tokens are
 *   always valid 15 minutes; it signs a new one this often). Default: AWS's 900 s for ours,
 *   GLIDE's 300 s for GLIDE.
 * @property {Partial<import("@redis-credentials/aws-iam").AwsIamOptions>} [sourceOptions] Ours in
 *   AWS mode only: options added to the fleet's own `awsIam()` source (after `tokenSeconds`).
 */

/**
 * @typedef {object} System
 * @property {string} name Label in tables and charts, e.g. `ours · ioredis`.
 * @property {string} client The client library: `ioredis`, `node-redis`, `valkey-glide`, `iovalkey`.
 * @property {"ours" | "alternative" | "floor"} kind
 * @property {"entra" | "aws"} mode Which environment it runs against.
 * @property {(env: object, count: number, options?: OpenOptions) => Promise<Fleet>} open Opens
 *   `count` connections and resolves once every one is ready.
 */

export {};
