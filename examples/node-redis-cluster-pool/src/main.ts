import { DefaultAzureCredential } from "@azure/identity";
import { connectRedis } from "./redis-clients";

function endpoint(prefix: "REDIS_CLUSTER" | "REDIS") {
  const host = process.env[`${prefix}_HOST`];
  if (!host) throw new Error(`Set ${prefix}_HOST to your cache's host name: see README.md.`);
  return { host, port: Number(process.env[`${prefix}_PORT`] ?? 10_000) };
}

const { cluster, pool, close } = await connectRedis({
  // A managed identity on Azure (AZURE_CLIENT_ID picks a user-assigned one), a service principal
  // from AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, or your `az login` locally.
  credential: new DefaultAzureCredential(),
  cluster: endpoint("REDIS_CLUSTER"),
  standalone: endpoint("REDIS"),
});

// A page-view counter per page on the cluster, the latest visit on the pool, once a second.
const pages = ["home", "pricing", "docs"];
async function visit() {
  const page = pages[Math.floor(Math.random() * pages.length)] as string;
  const views = await cluster.incr(`views:${page}`);
  await pool.set("last-visit", `${page} at ${new Date().toISOString()}`);
  console.log(`${page}: ${views} views`);
}
const timer = setInterval(() => {
  visit().catch((error: Error) => console.error(`Visit failed: ${error.message}`));
}, 1_000);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    clearInterval(timer);
    void close();
  });
}
