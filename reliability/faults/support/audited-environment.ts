import {
  startIdentityEmulator,
  startTokenRedis,
  type TokenCluster,
  type TokenRedis,
  type TokenVerifier,
  type VerifierResult,
} from "@redis-credentials/testing";
import type { FaultEnvironment, Topology } from "../harness/fault-environment";
import { oncePerFile } from "../harness/once-per-file";
import { type AuthAudit, createAuthAudit } from "./auth-audit";

/**
 * The harness's fault environment (an identity emulator, a standalone Redis and a cluster, plain
 * TCP), with what the server-fault and clock cases need on top: a cluster with a replica per
 * shard, so that a shard can fail over, and an audit of every AUTH and close at expiry per user,
 * so that a failure names the client it happened to.
 */
export interface AuditedEnvironment extends FaultEnvironment {
  readonly audit: AuthAudit;
  cluster(): TokenCluster;
}

const SHARDS = 3;

export interface AuditedEnvironmentOptions {
  /** Replicas per shard of the 3-shard cluster (a failover needs one). @default 1 */
  replicasPerMaster?: number;
}

export async function startAuditedEnvironment(
  options: AuditedEnvironmentOptions = {},
): Promise<AuditedEnvironment> {
  const idp = await startIdentityEmulator({ tokenLifetimeMs: 3_000 });
  const revoked = new Set<string>();
  const audit = createAuthAudit({
    verifyToken(token, check): VerifierResult {
      if (revoked.has(token)) return { ok: false, reason: "revoked" };
      return idp.verifyToken(token, check?.user === undefined ? {} : { user: check.user });
    },
  } satisfies TokenVerifier);
  const started = await Promise.allSettled([
    startTokenRedis({ identity: audit.verifier, tls: false }),
    startTokenRedis({
      identity: audit.verifier,
      tls: false,
      cluster: { masters: SHARDS, replicasPerMaster: options.replicasPerMaster ?? 1 },
    }),
  ]);
  const [standalone, cluster] = started.map((result) =>
    result.status === "fulfilled" ? result.value : undefined,
  ) as [TokenRedis | undefined, TokenCluster | undefined];
  const failed = started.find((result) => result.status === "rejected");
  if (failed || standalone === undefined || cluster === undefined) {
    await Promise.all([standalone?.stop(), cluster?.stop(), idp.stop()]);
    throw (failed as PromiseRejectedResult | undefined)?.reason ?? new Error("no server");
  }
  audit.watch(standalone);
  audit.watch(cluster);
  let stopped: Promise<void> | undefined;
  return {
    idp,
    audit,
    server: (topology: Topology) => (topology === "cluster" ? cluster : standalone),
    cluster: () => cluster,
    revoke: (token) => void revoked.add(token),
    auths: () => audit.records(),
    stop() {
      stopped ??= (async () => {
        audit.stop();
        await Promise.all([standalone.stop(), cluster.stop()]);
        await idp.stop();
      })();
      return stopped;
    },
  };
}

/** Starts the environment once for the file and stops it after; returns a getter for the tests. */
export function auditedEnvironmentBeforeAll(
  options: AuditedEnvironmentOptions = {},
): () => AuditedEnvironment {
  return oncePerFile(() => startAuditedEnvironment(options), "the fault environment", 90_000);
}
