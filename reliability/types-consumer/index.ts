// Every public type of the testing package, used the way a user's tests use them.
import { createTokenManager } from "@redis-credentials/core";
import * as testing from "@redis-credentials/testing";
import {
  createCertificateAuthority,
  createFakeClock,
  emulatorSource,
  scriptedSource,
  startIdentityEmulator,
  startTokenIssuer,
  startTokenRedis,
  type TokenIssuer,
  type TokenRedis,
} from "@redis-credentials/testing";

export async function usage(): Promise<void> {
  const clock = createFakeClock();
  const emulator = await startIdentityEmulator();
  const issuer: TokenIssuer = await startTokenIssuer();
  const jwks = issuer.jwks().keys;
  const server: TokenRedis = await startTokenRedis({ identity: emulator });
  const manager = createTokenManager(
    emulatorSource(emulator, { objectId: "00000000-0000-0000-0000-000000000001" }),
    { clock },
  );
  const scripted = scriptedSource([{ username: "user", password: "password", expiresAt: 1 }]);
  const authority = await createCertificateAuthority();
  void [jwks, manager, scripted, authority, testing];
  await server.stop();
  await emulator.stop();
}
