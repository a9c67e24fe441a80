import type { AwsCredentialIdentityProvider, Logger } from "@smithy/types";

/**
 * What the default credential chain did during one fetch, read from its debug log: the chain
 * itself reports only "Could not load credentials from any providers", and each link's own error
 * (an unknown profile, say) is lost unless it is logged.
 */
export interface ChainTrace {
  /** The links of the chain that ran, in order (`fromEnv`, `fromIni`, `fromTokenFile`, ...). */
  readonly links: readonly string[];
  /** Why the links that failed did: the messages of the SDK's `CredentialsProviderError`s. */
  readonly failures: readonly string[];
  /** The last link that ran went to STS with a web identity token (`AssumeRoleWithWebIdentity`). */
  readonly webIdentity: boolean;
}

/** `fromNodeProviderChain()`, with a view of what it did during the current fetch. */
export interface DefaultChain {
  readonly provider: AwsCredentialIdentityProvider;
  /** Forgets what earlier fetches saw. */
  reset(): void;
  trace(): ChainTrace;
}

/** More would only be a loop in a custom chain: the default one has 7 links. */
const MAX_ENTRIES = 50;

/**
 * Loads `@aws-sdk/credential-providers` (a peer dependency, loaded only when no `credentials`
 * were given) and creates its Node.js default chain.
 */
export async function loadDefaultChain(): Promise<DefaultChain> {
  const { fromNodeProviderChain } = await import("@aws-sdk/credential-providers");
  const links: string[] = [];
  const failures: string[] = [];
  let webIdentity = false;
  const record = (args: unknown[]) => {
    const text = typeof args[0] === "string" ? args[0] : "";
    const link = /defaultProvider::(\w+)/.exec(text)?.[1];
    if (link !== undefined) {
      if (links.length < MAX_ENTRIES) links.push(link);
      webIdentity = link === "fromTokenFile";
      return;
    }
    // A profile with web_identity_token_file goes through the same provider, from fromIni.
    if (text.startsWith("@aws-sdk/credential-provider-web-identity")) webIdentity = true;
    const failure = /^@smithy\/property-provider (?:->|\(!\)) ([\s\S]*)$/.exec(text)?.[1];
    if (failure !== undefined && failures.length < MAX_ENTRIES) failures.push(failure.trim());
  };
  // Debug lines are only collected; warnings go where the SDK sends them without a logger.
  const logger: Logger = {
    trace: () => {},
    debug: (...args: unknown[]) => record(args),
    info: () => {},
    warn: (...args: unknown[]) => console.warn(...args),
    error: (...args: unknown[]) => console.error(...args),
  };
  const provider = fromNodeProviderChain({ logger });
  return {
    provider,
    reset() {
      links.length = 0;
      failures.length = 0;
      webIdentity = false;
    },
    trace: () => ({ links: [...links], failures: [...failures], webIdentity }),
  };
}
