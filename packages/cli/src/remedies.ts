import { credentialsRemedy, wrongPassRemedy } from "./credential-remedies";
import type { DoctorCredentials } from "./doctor-options";
import type { DoctorStepName } from "./doctor-step";
import { StepFailure, StepTimeoutError } from "./step-errors";

/** What a remedy depends on besides the error: where the doctor connected, and as whom. */
export interface RemedyContext {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  readonly kind: DoctorCredentials["kind"];
  readonly timeoutMs: number;
  /** The Redis user, once the credentials step got one. */
  readonly username?: string | undefined;
  /** A cluster node the cluster announced, rather than the host given. */
  readonly node?: boolean;
}

/** A failed step's report: what happened, and what to do. */
export interface Failure {
  readonly detail: string;
  readonly remedy: string;
}

type ErrorLike = { code?: unknown; message?: unknown };

/** Any error a step threw, as a report line and a remedy specific to the step and the error. */
export function describeFailure(
  step: DoctorStepName,
  error: unknown,
  context: RemedyContext,
): Failure {
  if (error instanceof StepFailure) return { detail: error.detail, remedy: error.remedy };
  const detail = messageOf(error);
  const code = codeOf(error);
  const remedy =
    step === "credentials"
      ? credentialsRemedy(error, context)
      : code === "ETIMEDOUT" && error instanceof StepTimeoutError
        ? timeoutRemedy(step, context)
        : remedyByStep[step]?.(code, detail, context);
  return { detail, remedy: remedy ?? genericRemedy(step) };
}

/** The error's first line, short enough for a report. */
export function messageOf(error: unknown): string {
  const message = (error as ErrorLike | null)?.message;
  const text = typeof message === "string" && message.length > 0 ? message : String(error);
  const line = text.split("\n")[0]?.trim() ?? "";
  return line.length > 600 ? `${line.slice(0, 600)}...` : line;
}

function codeOf(error: unknown): string {
  const code = (error as ErrorLike | null)?.code;
  return typeof code === "string" ? code : "";
}

const where = (context: RemedyContext) => `${context.host}:${context.port}`;

const portHint =
  "Azure Managed Redis listens on 10000, Azure Cache for Redis on 6380 (TLS), ElastiCache, MemoryDB and Memorystore on 6379";

const remedyByStep: Partial<
  Record<
    DoctorStepName,
    (code: string, detail: string, context: RemedyContext) => string | undefined
  >
> = {
  dns(code, _detail, context) {
    if (code === "ENOTFOUND" || code === "EAI_NONAME" || code === "ENODATA") {
      return `The host name ${context.host} does not resolve: check --host for a typo (Azure Managed Redis: <name>.<region>.redis.azure.net; Azure Cache for Redis: <name>.redis.cache.windows.net; ElastiCache: the configuration or primary endpoint). Behind a private endpoint, the name resolves only inside its network, through the private DNS zone (privatelink.redis.azure.net, privatelink.redis.cache.windows.net): run the doctor from there, or link the zone to your network.`;
    }
    if (code === "EAI_AGAIN" || code === "ESERVFAIL" || code === "ECONNREFUSED") {
      return "The DNS server did not answer: check this machine's resolver (/etc/resolv.conf, VPN DNS settings) and try again.";
    }
    return undefined;
  },
  tcp(code, _detail, context) {
    if (code === "ECONNREFUSED") {
      return `Nothing accepts connections on ${where(context)}: check --port (${portHint}), that the cache's firewall or public network access lets this machine in, and, for a cache with a private endpoint, that you connect from inside its network.`;
    }
    if (code === "EHOSTUNREACH" || code === "ENETUNREACH") {
      return `No route to ${context.host}: this machine cannot reach that network. Connect the VPN or peering to the cache's network, or run the doctor from inside it.`;
    }
    if (code === "ECONNRESET") {
      return "The connection was reset at once: a firewall or proxy refuses it. Check the firewall rules between this machine and the cache.";
    }
    return undefined;
  },
  tls(code, detail, context) {
    if (
      code === "EPROTO" ||
      code.startsWith("ERR_SSL") ||
      /wrong version number|packet length too long/i.test(detail)
    ) {
      return `The server on ${where(context)} does not speak TLS: check --port (${portHint}) and that TLS (in-transit encryption) is enabled on the cache. Only for a local server without TLS: --no-tls, which sends the token in clear.`;
    }
    if (
      code === "ECONNRESET" ||
      code === "ECONNCLOSED" ||
      /disconnected before secure TLS/i.test(detail)
    ) {
      return `The server closed the connection during the TLS handshake: a TLS version or SNI it refuses, a port that is not TLS, or a firewall that inspects TLS. Check --port (${portHint}) and the cache's minimum TLS version.`;
    }
    return undefined;
  },
  auth(code, detail, context) {
    if (code === "WRONGPASS") return wrongPassRemedy(context);
    if (code === "ERR_IAM_EXHAUSTED") {
      return "Memorystore's IAM authentication quota for new connections is used up: retry with exponential backoff, and open fewer new connections per second (pool them).";
    }
    if (/no password is set|without any password configured/i.test(detail)) {
      return "The server has no password or ACL users, so it does not do token authentication: on Azure Cache for Redis, enable Microsoft Entra authentication; on ElastiCache, attach an IAM-enabled user group; on Memorystore, create the instance with IAM authentication.";
    }
    if (/wrong number of arguments/i.test(detail)) {
      return "The server does not take AUTH with a user name (Redis before 6.0 has no ACL users): token authentication needs Redis 6 or newer, or Valkey.";
    }
    if (code === "ECONNCLOSED" || code === "ECONNRESET") {
      return "The server closed the connection on AUTH instead of answering it: a server that drops connections with refused tokens, or a proxy in between. Check the server's logs.";
    }
    return undefined;
  },
  whoami(code, detail) {
    if (code === "NOPERM") {
      return "The user's access policy does not allow ACL WHOAMI: harmless for your application if it does not need it; to run this check, allow +acl|whoami (Azure: a custom access policy, or Data Owner).";
    }
    if (/unknown command|unknown subcommand/i.test(detail)) {
      return "The server has no ACL WHOAMI (Redis before 6.0, or a proxy that hides ACL): token authentication needs Redis 6 or newer.";
    }
    return undefined;
  },
  roundtrip: roundTripRemedy,
};

function roundTripRemedy(code: string): string | undefined {
  if (code === "NOPERM") {
    return "The user's access policy forbids writing or reading this key (the doctor writes redis-credentials:doctor:* with a 30 s expiry): Azure's Data Reader is read-only, use Data Contributor or Data Owner, or a custom policy that allows SET, GET and DEL on that pattern; on ElastiCache, the user's access string.";
  }
  if (code === "READONLY") {
    return "This node is a read replica: connect to the primary (or configuration) endpoint.";
  }
  if (code === "MOVED" || code === "ASK") {
    return "The server is a cluster: pass --cluster, so that the doctor writes a key the node owns and checks every node.";
  }
  if (code === "CLUSTERDOWN") {
    return "The cluster is down (a shard has no reachable master): check the nodes in the nodes step, and the cache's health in the cloud console.";
  }
  if (code === "OOM") {
    return "The server is out of memory (maxmemory with noeviction): free memory, scale up, or choose an eviction policy.";
  }
  if (code === "LOADING" || code === "BUSY" || code === "MASTERDOWN") {
    return "The server is not ready (loading data, busy, or its master is down): wait, and run the doctor again.";
  }
  if (code === "NOAUTH") {
    return "The connection is not authenticated although AUTH succeeded: a proxy in between that does not keep the authentication. Check what sits between this machine and the server.";
  }
  return undefined;
}

function timeoutRemedy(step: DoctorStepName, context: RemedyContext): string {
  const ms = context.timeoutMs;
  switch (step) {
    case "dns":
      return `The DNS lookup took more than ${ms} ms: check this machine's resolver (/etc/resolv.conf, VPN DNS settings).`;
    case "tcp":
      return `No answer from ${where(context)} within ${ms} ms: packets are dropped on the way. Check the network security group or firewall rules (Azure), the security group and network ACLs (AWS: ElastiCache and MemoryDB are reachable only from inside their VPC), the VPC firewall rules (Google Cloud), the cache's public network access (use its private endpoint from inside its network), and any corporate proxy.`;
    case "tls":
      return context.tls
        ? `The server accepted the connection but did not complete the TLS handshake within ${ms} ms: the port is not the cache's TLS port (${portHint}), the server there does not speak TLS (a plaintext Redis waits for a command line the handshake never ends), a proxy holds the connection, or the server is overloaded.`
        : `The server accepted the connection but did not answer a PING in clear within ${ms} ms: it probably speaks TLS on this port and waits for a handshake. Drop --no-tls.`;
    case "nodes":
      return `Checking the cluster's nodes took more than ${ms} ms: see which node did not answer, and check that every node's address is reachable from here.`;
    default:
      return `The server did not answer ${step === "auth" ? "AUTH" : step === "whoami" ? "ACL WHOAMI" : "the commands"} within ${ms} ms: it is down, overloaded, blocked by a long-running command, or failing over. Check its health in the cloud console, and raise --timeout-ms if it is just slow.`;
  }
}

function genericRemedy(step: DoctorStepName): string {
  return `The ${step} step failed as the detail says; run the doctor again with --timeout-ms raised if the network is slow, and see docs/doctor.md for this step.`;
}
