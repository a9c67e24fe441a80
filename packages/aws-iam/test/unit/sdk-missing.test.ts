import { AwsIamError, awsIam } from "@redis-credentials/aws-iam";
import { isPermanent } from "@redis-credentials/core";
import { fetchOnce, REGION } from "../aws-helpers";

// The peer dependency missing: what `require` throws then.
jest.mock("@aws-sdk/credential-providers", () => {
  throw Object.assign(
    new Error("Cannot find module '@aws-sdk/credential-providers' from 'src/default-chain.ts'"),
    { code: "MODULE_NOT_FOUND" },
  );
});

test("no @aws-sdk/credential-providers and no `credentials`: a permanent SdkNotInstalled saying what to install", async () => {
  const source = awsIam({ userId: "u", cacheName: "c", region: REGION });
  for (let attempt = 0; attempt < 2; attempt++) {
    const error = (await fetchOnce(source).catch((e: unknown) => e)) as AwsIamError;
    expect(error).toBeInstanceOf(AwsIamError);
    expect(error.code).toBe("SdkNotInstalled");
    expect(isPermanent(error)).toBe(true);
    expect(error.message).toContain("npm install @aws-sdk/credential-providers");
    expect(error.message).toContain("pass `credentials`");
  }
});

test("with `credentials` it is not needed", async () => {
  const credentials = { accessKeyId: "AKIAEXAMPLE", secretAccessKey: "s" };
  const result = await fetchOnce(
    awsIam({ userId: "u", cacheName: "c", region: REGION, credentials }),
  );
  expect(result.username).toBe("u");
});
