import { InvalidOptionsError } from "@redis-credentials/core";
import { startTokenCluster } from "../../src/cluster";
import { createTokenIssuer } from "../../src/token-issuer";

const identity = createTokenIssuer();

describe("startTokenCluster options", () => {
  it.each([
    ["cluster", undefined],
    ["cluster.masters", { masters: 0 }],
    ["cluster.masters", { masters: 1.5 }],
    ["cluster.masters", { masters: 65 }],
    ["cluster.masters", { masters: "3" }],
    ["cluster.replicasPerMaster", { masters: 3, replicasPerMaster: -1 }],
    ["cluster.replicasPerMaster", { masters: 3, replicasPerMaster: 9 }],
    ["cluster.replicasPerMaster", { masters: 3, replicasPerMaster: Number.NaN }],
  ])("rejects a wrong %s (%j) before starting anything", async (option, cluster) => {
    const started = startTokenCluster({ identity, cluster: cluster as never });
    await expect(started).rejects.toBeInstanceOf(InvalidOptionsError);
    await expect(started).rejects.toMatchObject({ option });
  });
});
