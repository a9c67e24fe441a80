import type { CredentialSource } from "@redis-credentials/core";
import { emulatorSource, type IdentityEmulator } from "@redis-credentials/testing";

/**
 * The soak's identity provider: tokens issued by the emulator in process, with an outage switch
 * the fault scheduler flips. Not over HTTPS as in the fault suite: nock 14, which every jest
 * project loads to keep tests off the internet, keeps about 40 KB of every HTTP request it lets
 * through (nock/nock#2904), and a soak's thousands of token requests would be its heap growth.
 */
export class IdentitySwitch {
  #down = false;

  outage(): void {
    this.#down = true;
  }

  restore(): void {
    this.#down = false;
  }

  /** A source of `objectId`'s tokens that fails, as a 503 would, while the switch is down. */
  source(idp: IdentityEmulator, objectId: string, name: string): CredentialSource {
    const tokens = emulatorSource(idp, { objectId, name });
    return {
      name,
      fetch: (context) => {
        if (this.#down)
          return Promise.reject(new Error("the identity provider is down (503, soak)"));
        return tokens.fetch(context);
      },
    };
  }
}
