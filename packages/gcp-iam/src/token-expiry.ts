import type { GoogleAuthClient } from "./options";

/**
 * How long a token is taken to last when its client says nothing of its expiry (a custom
 * `AuthClient`). Short, because asking again is cheap: the library's clients cache their token,
 * and the manager treats the same token handed back as no change (no fan-out, no re-AUTH), only
 * moving its expiry on.
 */
export const UNKNOWN_EXPIRY_MS = 5 * 60_000;

/**
 * When the token just returned expires, in epoch ms: the client's `credentials.expiry_date`
 * (every client of the library keeps it for the token it hands out); else the `expires_in` of
 * the token response, when the token was fetched just now; else {@link UNKNOWN_EXPIRY_MS} from
 * now. An `expiry_date` already past describes no token the library would hand out (it refreshes
 * before that), so it is passed over.
 */
export function tokenExpiry(
  client: GoogleAuthClient,
  answer: { res?: { data?: unknown } | null | undefined } | null | undefined,
  now: number,
): number {
  let expiryDate: unknown;
  try {
    expiryDate = client.credentials?.expiry_date;
  } catch {
    expiryDate = undefined;
  }
  if (typeof expiryDate === "number" && Number.isFinite(expiryDate) && expiryDate > now) {
    return expiryDate;
  }
  const data = answer?.res?.data;
  const raw =
    typeof data === "object" && data !== null
      ? (data as { expires_in?: unknown }).expires_in
      : undefined;
  // Seconds, as a number or (some metadata servers) a string.
  const expiresIn =
    typeof raw === "number" ? raw : typeof raw === "string" ? Number(raw) : Number.NaN;
  if (Number.isFinite(expiresIn) && expiresIn > 0) return now + expiresIn * 1000;
  return now + UNKNOWN_EXPIRY_MS;
}
