import { CredentialsError } from "@redis-credentials/core";

/**
 * The source handed out credentials for another user than the GLIDE client authenticates as.
 * GLIDE can change the password of a live client, not its user name, so the client keeps the
 * credentials it has (and loses its connections when they expire). Sources whose user name is
 * fixed (an Entra object id, an AWS user id, Memorystore's `default`) never cause it. Never
 * contains a password.
 */
export class UsernameChangedError extends CredentialsError {
  override name = "UsernameChangedError";
  /** The source's name. */
  readonly source: string;
  /** The user name the client authenticates as. */
  readonly previousUsername: string;
  /** The user name of the new credentials, which were not applied. */
  readonly username: string;

  constructor(source: string, previousUsername: string, username: string) {
    super(
      `Source "${source}" changed the user name from "${previousUsername}" to "${username}", but a Valkey GLIDE client ` +
        "cannot change the user name of a live client: the new credentials were not applied, and the client's " +
        "connections stop working when the current token expires. Create a new client for the new user.",
    );
    this.source = source;
    this.previousUsername = previousUsername;
    this.username = username;
  }
}
