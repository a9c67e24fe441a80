import type { Socket } from "node:net";
import { encodeCommand, RespReader, type RespValue } from "./resp";
import { ConnectionClosedError } from "./step-errors";

interface Waiter {
  resolve(reply: RespValue): void;
  reject(error: Error): void;
}

/**
 * One connection to Redis (plain TCP or TLS), sending commands one at a time and matching
 * replies to them in order. A command rejects when the connection fails or closes, or when its
 * signal aborts (which closes the connection: its replies could no longer be matched).
 */
export class RedisConnection {
  private readonly reader = new RespReader();
  private readonly waiting: Waiter[] = [];
  private failure: Error | undefined;

  constructor(private readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", (error) => this.fail(error));
    socket.on("close", () => this.fail(new ConnectionClosedError()));
  }

  /** Sends one command; resolves with its reply, an error reply included. */
  command(args: readonly string[], signal: AbortSignal): Promise<RespValue> {
    if (signal.aborted) return Promise.reject(signal.reason);
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise<RespValue>((resolve, reject) => {
      const onAbort = () => {
        this.fail(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.waiting.push({
        resolve: (reply) => {
          signal.removeEventListener("abort", onAbort);
          resolve(reply);
        },
        reject: (error) => {
          signal.removeEventListener("abort", onAbort);
          reject(error);
        },
      });
      this.socket.write(encodeCommand(args));
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    let replies: RespValue[];
    try {
      replies = this.reader.push(chunk);
    } catch (error) {
      this.fail(error as Error);
      return;
    }
    for (const reply of replies) this.waiting.shift()?.resolve(reply);
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.socket.destroy();
    for (const waiter of this.waiting.splice(0)) waiter.reject(this.failure);
  }
}
