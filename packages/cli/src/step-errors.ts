/*
 * What makes a step fail. Steps throw these (or the errors of Node.js and the credential
 * sources); `describeFailure` turns any of them into a report line with its remedy.
 */

/** A failure a step has already put into words: the detail and the remedy to report. */
export class StepFailure extends Error {
  override name = "StepFailure";
  readonly detail: string;
  readonly remedy: string;

  constructor(detail: string, remedy: string) {
    super(detail);
    this.detail = detail;
    this.remedy = remedy;
  }
}

/** A step that did not finish within `--timeout-ms`. */
export class StepTimeoutError extends Error {
  override name = "StepTimeoutError";
  readonly code = "ETIMEDOUT";
  readonly timeoutMs: number;

  constructor(timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms (--timeout-ms)`);
    this.timeoutMs = timeoutMs;
  }
}

/** Redis answered a command with an error reply; `code` is its first word (`WRONGPASS`, `NOPERM`). */
export class ReplyError extends Error {
  override name = "ReplyError";
  readonly code: string;

  constructor(reply: string) {
    super(reply);
    this.code = reply.split(" ", 1)[0] ?? "";
  }
}

/** The server closed the connection while a command waited for its reply. */
export class ConnectionClosedError extends Error {
  override name = "ConnectionClosedError";
  readonly code = "ECONNCLOSED";

  constructor() {
    super("the server closed the connection without answering");
  }
}
