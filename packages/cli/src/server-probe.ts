import type { LookupAddress } from "node:dns";
import type { Socket } from "node:net";
import { type ClusterTopology, describeSlots, readTopology } from "./cluster-topology";
import type { ObtainedCredentials } from "./credentials-step";
import type { HostLookup } from "./doctor-options";
import type { SlotRange } from "./key-slot";
import {
  connectTcp,
  plaintextRefused,
  probePlaintext,
  resolveHost,
  startTls,
} from "./network-steps";
import { RedisConnection } from "./redis-connection";
import { authenticate, roundTrip, whoami } from "./redis-steps";
import { replyText } from "./resp";
import { StepTimeoutError } from "./step-errors";

/** Where to connect: the host given, or a node a cluster announced. */
export interface ProbeTarget {
  readonly host: string;
  readonly port: number;
  /** The name to verify the certificate against (and send as SNI); none for an IP address. */
  readonly servername: string | undefined;
  /** A cluster node's slots, where its round trip writes; unknown for the host given. */
  readonly slots?: readonly SlotRange[];
}

/** How every connection is made. */
export interface ProbeSettings {
  readonly tls: boolean;
  readonly ca: string | undefined;
  readonly lookup: HostLookup;
  readonly cluster: boolean;
  /** Whether ACL WHOAMI may name another user than AUTH did (Memorystore's `default`). */
  readonly anyUser: boolean;
}

/**
 * One server, checked step by step on one connection: each method is a step, needs the ones
 * before it, and returns what it found. `close()` ends the connection.
 */
export class ServerProbe {
  private addresses: readonly LookupAddress[] = [];
  private socket: Socket | undefined;
  private connection: RedisConnection | undefined;

  constructor(
    readonly target: ProbeTarget,
    private readonly settings: ProbeSettings,
  ) {}

  async dns(): Promise<string> {
    const { detail, value } = await resolveHost(this.target.host, this.settings.lookup);
    this.addresses = value;
    return detail;
  }

  async tcp(signal: AbortSignal): Promise<string> {
    const { detail, value } = await connectTcp(this.addresses, this.target.port, signal);
    this.socket = value;
    // Until the next step listens: an error in between must not crash the process.
    value.on("error", () => {});
    return detail;
  }

  async tls(signal: AbortSignal): Promise<string> {
    const socket = this.socket as Socket;
    if (this.settings.tls) {
      const { host, servername } = this.target;
      const { detail, value } = await startTls(
        socket,
        { host, servername, ca: this.settings.ca },
        signal,
      );
      value.on("error", () => {});
      this.connection = new RedisConnection(value);
      return detail;
    }
    this.connection = new RedisConnection(socket);
    try {
      return (await probePlaintext(this.connection, signal)).detail;
    } catch (error) {
      if (error instanceof StepTimeoutError || signal.aborted) throw error;
      throw plaintextRefused(error);
    }
  }

  async auth(credentials: ObtainedCredentials, signal: AbortSignal): Promise<string> {
    return (await authenticate(this.redis(), credentials, signal)).detail;
  }

  async whoami(expected: string, signal: AbortSignal): Promise<string> {
    return (await whoami(this.redis(), expected, this.settings.anyUser, signal)).detail;
  }

  /** PING and a write/read of a key this server owns (in a cluster: found from the topology). */
  async roundtrip(signal: AbortSignal): Promise<string> {
    let slots = this.target.slots;
    let note = "";
    if (slots === undefined && this.settings.cluster) {
      const own = await this.ownSlots(signal);
      slots = own.slots;
      note = own.note;
    }
    return `${(await roundTrip(this.redis(), signal, slots)).detail}${note}`;
  }

  /** The cluster's nodes, as this server announces them. */
  topology(signal: AbortSignal): Promise<ClusterTopology> {
    return readTopology(this.redis(), this.target.host, this.settings.tls, signal);
  }

  close(): void {
    this.connection?.close();
    this.socket?.destroy();
  }

  private redis(): RedisConnection {
    return this.connection as RedisConnection;
  }

  /** A cluster node's own slots: its id (CLUSTER MYID) looked up in the topology. */
  private async ownSlots(
    signal: AbortSignal,
  ): Promise<{ slots: readonly SlotRange[]; note: string }> {
    const id = replyText(await this.redis().command(["CLUSTER", "MYID"], signal));
    const { nodes } = await this.topology(signal);
    const self = nodes.find((node) => node.id === id);
    if (self === undefined) {
      return {
        slots: [],
        note: " (this address is not one of the nodes it announces, e.g. a discovery endpoint: the nodes step writes on each node)",
      };
    }
    return {
      slots: self.slots,
      note: self.slots.length > 0 ? ` (a key in its slots ${describeSlots(self.slots)})` : "",
    };
  }
}
