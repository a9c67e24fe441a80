import { EventEmitter } from "node:events";
import type { RedisCredentials } from "../../src";

/**
 * The made-up client of docs/core.md's "Writing an adapter": one connection to a made-up server
 * that accepts only the passwords `accepts` says are valid. It asks a `credentials` hook before
 * every handshake, as a client with a credentials-provider hook does, and emits `ready`,
 * `auth-refused` and `end`.
 */
export class ToyClient extends EventEmitter {
  readonly address = "toy.example:6380";
  /** Asked before each handshake; set by an adapter. */
  credentials: ((signal: AbortSignal) => Promise<RedisCredentials>) | undefined;
  ready = false;
  closed = false;
  /** The password the server holds for this connection, and every AUTH it got. */
  onServer: string | undefined;
  readonly auths: string[] = [];

  constructor(private readonly accepts: (password: string) => boolean) {
    super();
  }

  async connect(): Promise<void> {
    this.ready = false;
    const credentials = await this.credentials!(new AbortController().signal);
    if (!this.accepts(credentials.password)) {
      this.emit("auth-refused", new Error("WRONGPASS invalid username-password pair"));
      return;
    }
    this.onServer = credentials.password;
    this.ready = true;
    this.emit("ready");
  }

  async command(name: "AUTH", username: string, password: string): Promise<"OK"> {
    this.auths.push(`${name} ${username}`);
    if (!this.accepts(password)) throw new Error("WRONGPASS invalid username-password pair");
    this.onServer = password;
    return "OK";
  }

  /** The server dropped the connection: reconnect, with a fresh handshake. */
  reconnect(): Promise<void> {
    return this.connect();
  }

  close(): void {
    this.closed = true;
    this.ready = false;
    this.emit("end");
  }
}
