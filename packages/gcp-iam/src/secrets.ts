/** What a secret is replaced with. */
export const REDACTED = "[redacted]";

/** `text` without any of `secrets`. */
export function redact(text: string, secrets: readonly string[]): string {
  let result = text;
  for (const secret of secrets) {
    if (secret.length >= 8 && result.includes(secret)) result = result.split(secret).join(REDACTED);
  }
  return result;
}

/**
 * The secrets a client holds, to keep out of messages: a service account's private key, a
 * refresh token, a client secret, the access token it caches. Read from the fields
 * google-auth-library's clients keep them in; never printed.
 */
export function secretsOf(client: unknown): string[] {
  if (typeof client !== "object" || client === null) return [];
  const found: string[] = [];
  try {
    const fields = client as Record<string, unknown>;
    const credentials = fields.credentials as Record<string, unknown> | undefined;
    const cached = fields.cachedAccessToken as Record<string, unknown> | undefined;
    const candidates = [
      fields.key,
      fields._refreshToken,
      fields._clientSecret,
      fields.refreshToken,
      credentials?.access_token,
      credentials?.refresh_token,
      cached?.access_token,
    ];
    for (const value of candidates) {
      if (typeof value === "string" && value.length >= 8) found.push(value);
    }
    // A PEM's body lines too: a message may quote part of a key.
    if (typeof fields.key === "string") {
      for (const line of fields.key.split("\n")) {
        if (line.length >= 40 && !line.startsWith("-----")) found.push(line);
      }
    }
  } catch {
    // A getter that throws holds nothing we can read.
  }
  return found;
}
