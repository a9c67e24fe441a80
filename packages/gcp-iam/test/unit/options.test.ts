import { inspect } from "node:util";
import { InvalidOptionsError } from "@redis-credentials/core";
import {
  CLOUD_PLATFORM_SCOPE,
  DEFAULT_USERNAME,
  type GcpIamOptions,
  gcpIam,
} from "@redis-credentials/gcp-iam";
import { GoogleAuth, JWT } from "google-auth-library";
import { isolateGoogleEnvironment, privateKeyParts, serviceAccountKey } from "../google-helpers";

isolateGoogleEnvironment();

const client = { getAccessToken: async () => ({ token: "t" }) };

function thrown(options: unknown): InvalidOptionsError {
  try {
    gcpIam(options as GcpIamOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionsError);
    return error as InvalidOptionsError;
  }
  throw new Error("gcpIam() accepted the options");
}

const bad: { title: string; options: unknown; option: string; message?: RegExp }[] = [
  { title: "null", options: null, option: "options" },
  { title: "a string", options: "default", option: "options" },
  { title: "an array", options: [{}], option: "options" },
  { title: "a number", options: 1, option: "options" },
  { title: "auth null", options: { auth: null }, option: "auth" },
  {
    title: "auth a string (a key file path)",
    options: { auth: "/secrets/sa.json" },
    option: "auth",
    message: /GoogleAuth\(\{ keyFilename, scopes \}\)/,
  },
  {
    title: "auth an object without either method",
    options: { auth: { email: "a@b" } },
    option: "auth",
    message: /neither method/,
  },
  { title: "auth an array", options: { auth: [client] }, option: "auth" },
  { title: "auth a number", options: { auth: 7 }, option: "auth" },
  { title: "scopes empty", options: { scopes: "" }, option: "scopes" },
  { title: "scopes blank", options: { scopes: "  " }, option: "scopes" },
  { title: "scopes an empty array", options: { scopes: [] }, option: "scopes" },
  {
    title: "scopes with a number",
    options: { scopes: [CLOUD_PLATFORM_SCOPE, 1] },
    option: "scopes",
  },
  { title: "scopes null", options: { scopes: null }, option: "scopes" },
  {
    title: "scopes with your own client",
    options: { auth: client, scopes: CLOUD_PLATFORM_SCOPE },
    option: "scopes",
    message: /set the scopes there/,
  },
  {
    title: "scopes with your own GoogleAuth",
    options: { auth: new GoogleAuth(), scopes: [CLOUD_PLATFORM_SCOPE] },
    option: "scopes",
    message: /new GoogleAuth\(\{ scopes \}\)/,
  },
  { title: "username empty", options: { username: "" }, option: "username" },
  { title: "username a number", options: { username: 0 }, option: "username" },
  { title: "username with a space", options: { username: "de fault" }, option: "username" },
  {
    title: "username with a newline",
    options: { username: "default\r\nAUTH x" },
    option: "username",
  },
  {
    title: "an unknown option",
    options: { ttl: 3600 },
    option: "ttl",
    message: /unknown option\. The options are auth, scopes, username\./,
  },
  {
    title: "two unknown options",
    options: { ttl: 1, region: "x" },
    option: "ttl/region",
    message: /unknown options/,
  },
  {
    title: "credentials (GoogleAuth's option)",
    options: { credentials: { client_email: "a@b", private_key: serviceAccountKey().privateKey } },
    option: "credentials",
    message: /pass it as `auth`: `new JWT\(\{ email, key, scopes \}\)`/,
  },
  {
    title: "keyFile",
    options: { keyFile: "/k.json" },
    option: "keyFile",
    message: /GOOGLE_APPLICATION_CREDENTIALS/,
  },
  {
    title: "keyFilename",
    options: { keyFilename: "/k.json" },
    option: "keyFilename",
    message: /new GoogleAuth\(\{ keyFilename, scopes \}\)/,
  },
  {
    title: "projectId",
    options: { projectId: "orders-prod" },
    option: "projectId",
    message: /not needed/,
  },
  { title: "user", options: { user: "default" }, option: "user", message: /`username`/ },
  {
    title: "scope",
    options: { scope: CLOUD_PLATFORM_SCOPE },
    option: "scope",
    message: /`scopes`/,
  },
  {
    title: "authClient",
    options: { authClient: client },
    option: "authClient",
    message: /as `auth`/,
  },
  {
    title: "targetPrincipal",
    options: { targetPrincipal: "x@y" },
    option: "targetPrincipal",
    message: /Impersonated/,
  },
  { title: "password", options: { password: "ya29.secret-token-value" }, option: "password" },
];

test.each(bad)("$title: InvalidOptionsError naming `$option`", ({ options, option, message }) => {
  const error = thrown(options);
  expect(error.option).toBe(option);
  expect(error.message).toContain(`\`${option}\``);
  if (message) expect(error.message).toMatch(message);
  // Never echoes a value: it may be a key or a token.
  for (const text of [error.message, inspect(error)]) {
    for (const part of privateKeyParts()) expect(text).not.toContain(part);
    expect(text).not.toContain("ya29.secret-token-value");
    expect(text).not.toContain("/secrets/sa.json");
  }
});

test.each([
  ["no options", undefined],
  ["empty options", {}],
  ["auth undefined", { auth: undefined }],
  ["a scope as a string", { scopes: CLOUD_PLATFORM_SCOPE }],
  ["scopes as an array", { scopes: [CLOUD_PLATFORM_SCOPE] }],
  ["another user name", { username: "memorystore-user" }],
  ["a GoogleAuth", { auth: new GoogleAuth({ scopes: CLOUD_PLATFORM_SCOPE }) }],
  [
    "a JWT",
    {
      auth: new JWT({ email: "a@b.iam.gserviceaccount.com", key: serviceAccountKey().privateKey }),
    },
  ],
  ["a plain client", { auth: client }],
  ["a function with getAccessToken", { auth: Object.assign(() => {}, client) }],
])("%s: accepted", (_title, options) => {
  const source = gcpIam(options as GcpIamOptions);
  expect(typeof source.fetch).toBe("function");
  expect(source.name.startsWith("gcp-iam (")).toBe(true);
});

test("the exported defaults", () => {
  expect(CLOUD_PLATFORM_SCOPE).toBe("https://www.googleapis.com/auth/cloud-platform");
  expect(DEFAULT_USERNAME).toBe("default");
});
