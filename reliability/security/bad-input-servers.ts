import { createServer, type Server, type Socket } from "node:net";

/**
 * How a junk server answers: `"err"` an error reply to everything, `"hello-ok"` a bare `+OK` to
 * HELLO (a map is due) and the same to everything else, `"binary"` bytes that are no RESP at all,
 * `"close-mid-reply"` the start of a bulk string and then a closed socket, `"silent"` nothing.
 */
export type JunkReply = "err" | "hello-ok" | "binary" | "close-mid-reply" | "silent";

/** A TCP server on 127.0.0.1 that answers a Redis handshake with junk, recording what it got. */
export interface JunkServer {
  readonly host: string;
  readonly port: number;
  /** Everything clients sent since start (or the last `reset()`), as latin1 text. */
  received(): string;
  /** Connections accepted since start (or the last `reset()`). */
  connections(): number;
  reset(): void;
  stop(): Promise<void>;
}

const JUNK: Record<Exclude<JunkReply, "silent">, Buffer> = {
  err: Buffer.from("-ERR weird\r\n"),
  "hello-ok": Buffer.from("+OK\r\n"),
  // No RESP type byte, NULs and high bytes, then a line end so that a parser does read it.
  binary: Buffer.from([0x00, 0xff, 0xfe, 0x13, 0x37, 0x80, 0x0d, 0x0a, 0x7f, 0x00, 0x0d, 0x0a]),
  "close-mid-reply": Buffer.from("$10\r\nabc"),
};

/** Starts a junk server: each command-bearing chunk from a client gets one `reply`. */
export async function startJunkServer(reply: JunkReply): Promise<JunkServer> {
  const sockets = new Set<Socket>();
  let received = "";
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    socket.on("data", (chunk) => {
      received += chunk.toString("latin1");
      if (reply === "silent" || socket.destroyed) return;
      // A pipelined handshake arrives as one chunk or several: answer every command in it, so
      // that a client waiting for its n-th reply is not left waiting for one that never comes.
      const commands = Math.max(1, chunk.toString("latin1").match(/^\*\d+\r\n/gm)?.length ?? 1);
      for (let i = 0; i < commands && !socket.destroyed; i++) {
        socket.write(JUNK[reply]);
        if (reply === "close-mid-reply") socket.destroy();
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  return {
    host: "127.0.0.1",
    port: address.port,
    received: () => received,
    connections: () => connections,
    reset() {
      received = "";
      connections = 0;
    },
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
