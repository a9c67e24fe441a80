// The secret scan's capture (issue 17), a setupFilesAfterEnv of the projects that issue real
// tokens. While one test file runs it keeps what a token could leak into: stdout/stderr writes,
// console output, 'error' events of any emitter and every event of the Redis clients an adapter
// bound, the core's diagnostics channels, token managers' events and status() output, and the
// product's errors tests hand to expect(). When the file's tests and hooks are done it inspects
// what it collected (errors with their cause chains, managers, clients and their options) and
// appends it to the run directory, where the globalTeardown (secret-scan-teardown.ts) searches
// it for every recorded token. Off unless the globalSetup set RC_SECRET_SCAN_DIR; never in the
// unit project (capturing slowed the core's property tests).
const fs = require("node:fs");
const path = require("node:path");
const util = require("node:util");
const events = require("node:events");
const diagnosticsChannel = require("node:diagnostics_channel");

function installCapture(runDirectory) {
  const FLAG = Symbol.for("redis-credentials.secret-capture");
  // Enough to hold a token (a JWT is under 2 KB) and most of what surrounds it, bounded so that
  // one runaway log cannot exhaust a worker's memory.
  const MAX_RECORD_CHARS = 1_000_000;
  const MAX_FILE_CHARS = 64_000_000;
  const MAX_OBJECTS = 2_000;
  const testFile = expect.getState().testPath ?? "unknown";
  const records = [];
  let capturedChars = 0;
  let droppedChars = 0;
  const errors = new Set();
  // Per client: what it emitted, kept only if an adapter bound it (see isBound).
  const clients = new Map();
  const managers = new Set();
  const undo = [];

  const add = (kind, text) => {
    if (typeof text !== "string" || text.length === 0) return;
    const kept = text.length > MAX_RECORD_CHARS ? text.slice(0, MAX_RECORD_CHARS) : text;
    if (capturedChars + kept.length > MAX_FILE_CHARS) {
      droppedChars += text.length;
      return;
    }
    capturedChars += kept.length;
    droppedChars += text.length - kept.length;
    records.push({ kind, text: kept });
  };
  const inspect = (value, depth) =>
    util.inspect(value, {
      depth,
      breakLength: Number.POSITIVE_INFINITY,
      maxArrayLength: 50,
      maxStringLength: 20_000,
      getters: false,
    });
  const json = (value) => {
    try {
      return JSON.stringify(value) ?? "";
    } catch {
      return ""; // circular: JSON.stringify of it throws instead of printing anything
    }
  };
  const keep = (set, value) => {
    if (set.size < MAX_OBJECTS) set.add(value);
  };
  const isError = (value) => value instanceof Error || util.types.isNativeError(value);

  globalThis[FLAG] = true;
  undo.push(() => {
    globalThis[FLAG] = false;
  });

  captureStreams(add, undo);
  captureConsole(add, undo);
  const core = loadCore();
  captureEmitters({ add, inspect, keep, isError, errors, clients }, undo);
  captureDiagnostics(add, json, undo);
  captureExpect({ keep, errors, core }, undo);
  captureManagers({ add, inspect, json, keep, errors, managers, core });

  const finish = () => {
    for (const restore of undo.reverse()) restore();
    for (const error of errors) {
      // Depth enough for any cause chain a library builds, bounded for errors holding a client.
      add("error (util.inspect with its cause chain)", inspect(error, 12));
      add("error (JSON.stringify)", json(error));
    }
    for (const manager of managers) {
      add("token manager (util.inspect)", inspect(manager, 4));
      add("token manager (JSON.stringify)", json(manager));
      try {
        const status = manager.status();
        add("token manager status() (util.inspect)", inspect(status, 8));
        add("token manager status() (JSON.stringify)", json(status));
      } catch (error) {
        add("token manager status() threw", inspect(error, 8));
      }
    }
    let unbound = 0;
    const bound = new Set();
    for (const [client, emitted] of clients) {
      if (!isBound(client, emitted.client)) continue;
      bound.add(client);
      // An ioredis Cluster's node clients are the product's too: users reach them by nodes().
      if (typeof client.nodes === "function") {
        try {
          for (const node of client.nodes("all")) bound.add(node);
        } catch {
          // a cluster that cannot list its nodes any more
        }
      }
    }
    for (const [client, emitted] of clients) {
      // A client no adapter bound is the test's own (a raw ioredis given a token as its
      // password, to test the token-enforcing Redis): what it holds is the test's doing.
      if (!bound.has(client)) {
        unbound += 1;
        continue;
      }
      for (const record of emitted.records) add(record.kind, record.text);
      for (const error of emitted.errors) {
        add("client error (util.inspect with its cause chain)", inspect(error, 12));
        add("client error (JSON.stringify)", json(error));
      }
      // What console.log(client) prints, and the client's own options, as issue 17 asks.
      add("client (console.log depth)", inspect(client, 2));
      add("client options (util.inspect)", inspect(client.options, 6));
      add("client options (JSON.stringify)", json(client.options));
    }
    const lines = records.map((record) =>
      JSON.stringify({ file: testFile, kind: record.kind, text: record.text }),
    );
    lines.push(
      JSON.stringify({
        file: testFile,
        kind: "summary",
        text: "",
        capturedChars,
        droppedChars,
        unboundClients: unbound,
      }),
    );
    fs.appendFileSync(
      path.join(runDirectory, `capture-${process.pid}.jsonl`),
      `${lines.join("\n")}\n`,
    );
  };
  // After the file's own afterAll hooks, which close the clients and dispose the managers (an
  // afterAll of this setup file would run before them): jest-circus's event handlers, kept on
  // the test context's global, hear 'run_finish' once every hook has run.
  const handlers = globalThis[Symbol.for("EVENT_HANDLERS")];
  if (Array.isArray(handlers)) {
    handlers.push((event) => {
      if (event.name === "run_finish") finish();
    });
  } else {
    afterAll(finish);
  }
}

function captureStreams(add, undo) {
  for (const name of ["stdout", "stderr"]) {
    const stream = process[name];
    const write = stream.write;
    stream.write = function capturedWrite(chunk, ...rest) {
      add(name, typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
      return write.call(this, chunk, ...rest);
    };
    undo.push(() => {
      stream.write = write;
    });
  }
}

function captureConsole(add, undo) {
  for (const method of ["log", "info", "warn", "error", "debug", "trace"]) {
    const original = console[method];
    if (typeof original !== "function") continue;
    console[method] = function capturedConsole(...args) {
      // util.format is what console prints: depth 2, as a user's console.log(x) would show.
      add(`console.${method}`, util.format(...args));
      return original.apply(this, args);
    };
    undo.push(() => {
      console[method] = original;
    });
  }
  const dir = console.dir;
  console.dir = function capturedDir(value, options) {
    add("console.dir", util.inspect(value, options));
    return dir.call(this, value, options);
  };
  undo.push(() => {
    console.dir = dir;
  });
}

// Client classes of ioredis/iovalkey (Commander: their Redis and Cluster copy EventEmitter's
// prototype onto theirs, its `constructor` included) and of node-redis (RedisClient...): every
// event they emit is captured, with what it carries.
const CLIENT_CLASS = /^(Commander|RedisClient|RedisCluster|RedisSentinel|RedisClientPool)$/;

function captureEmitters(capture, undo) {
  const { add, inspect, keep, isError, errors, clients } = capture;
  const prototype = events.EventEmitter.prototype;
  const emit = prototype.emit;
  const clientClass = new WeakMap();
  // The client class an emitter is of ("" for none), found once per prototype.
  const classOf = (emitter) => {
    const own = Object.getPrototypeOf(emitter ?? {});
    if (own === null) return "";
    let name = clientClass.get(own);
    if (name === undefined) {
      name = "";
      for (let p = own; p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
        const maker = Object.hasOwn(p, "constructor") ? p.constructor : undefined;
        if (typeof maker === "function" && CLIENT_CLASS.test(maker.name)) {
          name = maker.name === "Commander" ? "ioredis client" : maker.name;
          break;
        }
      }
      clientClass.set(own, name);
    }
    return name;
  };
  prototype.emit = function capturedEmit(event, ...args) {
    try {
      const client = classOf(this);
      if (client !== "") {
        let emitted = clients.get(this);
        if (emitted === undefined && clients.size < 2_000) {
          emitted = { client, records: [], errors: new Set() };
          clients.set(this, emitted);
        }
        // Bounded per client: a soak's clients reconnect for minutes.
        if (emitted !== undefined && args.length > 0 && emitted.records.length < 500) {
          for (const arg of args)
            if (isError(arg) && emitted.errors.size < 200) emitted.errors.add(arg);
          emitted.records.push({
            kind: `'${String(event)}' event of ${client}`,
            text: inspect(args, 4),
          });
        }
      } else if (event === "error" && args.length > 0) {
        for (const arg of args) if (isError(arg)) keep(errors, arg);
        add(`'error' event of ${this?.constructor?.name || "an emitter"}`, inspect(args, 4));
      }
    } catch {
      // The capture must never change what the emitter does.
    }
    return emit.call(this, event, ...args);
  };
  undo.push(() => {
    prototype.emit = emit;
  });
}

const CHANNELS = [
  "fetch",
  "refreshed",
  "refresh-failed",
  "unchanged",
  "expired",
  "recovered",
  "fan-out",
  "subscriber-error",
].map((name) => `redis-credentials:${name}`);

function captureDiagnostics(add, json, undo) {
  for (const name of CHANNELS) {
    const listener = (message) => add(`diagnostics channel ${name}`, json(message));
    diagnosticsChannel.subscribe(name, listener);
    undo.push(() => diagnosticsChannel.unsubscribe(name, listener));
  }
}

// The product's errors that tests assert on (expect(error), expect(promise).rejects) are the
// ones a user sees. Other errors handed to expect are the client libraries' own, from raw
// clients of tests of the token-enforcing Redis.
function captureExpect(capture, undo) {
  const { keep, errors, core } = capture;
  if (core === undefined) return;
  const isProductError = (value) => value instanceof core.CredentialsError;
  const original = globalThis.expect;
  const wrapped = function capturedExpect(actual, ...rest) {
    if (isProductError(actual)) keep(errors, actual);
    else if (actual instanceof Promise) {
      actual.then(undefined, (e) => isProductError(e) && keep(errors, e));
    }
    return original(actual, ...rest);
  };
  Object.assign(wrapped, original);
  globalThis.expect = wrapped;
  undo.push(() => {
    globalThis.expect = original;
  });
}

function loadCore() {
  try {
    return require("@redis-credentials/core");
  } catch {
    return undefined; // a file run without the core
  }
}

// Whether the adapter of the client's library bound it (its bindingOf knows it), from the test
// file's registry: loaded only when a client of that library was seen.
function isBound(client, clientClass) {
  const adapter =
    clientClass === "ioredis client"
      ? "@redis-credentials/ioredis"
      : "@redis-credentials/node-redis";
  try {
    return require(adapter).bindingOf(client) !== undefined;
  } catch {
    return false; // the adapter cannot load here: nothing of it bound the client
  }
}

const MANAGER_EVENTS = ["refreshed", "refreshFailed", "expired", "recovered", "subscriberError"];

// The token manager's class is not exported: its prototype is that of a throwaway manager.
// Its methods are wrapped on the prototype (tests of this file share one core module) to find
// every manager, hear its events and keep what status() returned.
function captureManagers(capture) {
  const { add, inspect, json, keep, errors, managers, core } = capture;
  if (core === undefined) return;
  const probe = core.createTokenManager(core.staticCredentials({ password: "probe" }));
  const prototype = Object.getPrototypeOf(probe);
  probe.dispose();
  if (prototype.__secretCaptured === true) return;
  Object.defineProperty(prototype, "__secretCaptured", { value: true });
  const on = prototype.on;
  const found = (manager) => {
    if (managers.has(manager) || managers.size >= 2_000) return;
    managers.add(manager);
    for (const event of MANAGER_EVENTS) {
      on.call(manager, event, (payload) => {
        if (payload instanceof Error) keep(errors, payload);
        add(`token manager '${event}' event (util.inspect)`, inspect(payload, 8));
        add(`token manager '${event}' event (JSON.stringify)`, json(payload));
      });
    }
  };
  for (const method of ["on", "subscribe", "getCredentials", "refresh"]) {
    const original = prototype[method];
    if (typeof original !== "function") continue;
    prototype[method] = function capturedMethod(...args) {
      found(this);
      return original.apply(this, args);
    };
  }
  const status = prototype.status;
  prototype.status = function capturedStatus() {
    found(this);
    const result = status.call(this);
    add("token manager status() (util.inspect)", inspect(result, 8));
    add("token manager status() (JSON.stringify)", json(result));
    return result;
  };
}

// Last, once every constant above is initialised.
const directory = process.env.RC_SECRET_SCAN_DIR;
if (directory !== undefined && directory !== "") installCapture(directory);
