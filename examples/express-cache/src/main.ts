import { DefaultAzureCredential } from "@azure/identity";
import { startCacheService } from "./cache-service";

const host = process.env.REDIS_HOST;
if (!host) {
  throw new Error("Set REDIS_HOST to your cache's host name (my-cache.<region>.redis.azure.net).");
}

const service = await startCacheService({
  // A managed identity on Azure (AZURE_CLIENT_ID picks a user-assigned one), a service principal
  // from AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, or your `az login` locally.
  credential: new DefaultAzureCredential(),
  redis: { host, port: Number(process.env.REDIS_PORT ?? 10_000) },
  port: Number(process.env.PORT ?? 3_000),
});
console.log(`Listening on ${service.url}: try ${service.url}/products/1`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void service.close());
}
