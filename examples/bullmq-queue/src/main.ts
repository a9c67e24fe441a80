import { DefaultAzureCredential } from "@azure/identity";
import { startEmailQueue } from "./email-queue";

const host = process.env.REDIS_HOST;
if (!host) {
  throw new Error("Set REDIS_HOST to your cache's host name (my-cache.<region>.redis.azure.net).");
}

const { queue, worker, close } = await startEmailQueue({
  // A managed identity on Azure (AZURE_CLIENT_ID picks a user-assigned one), a service principal
  // from AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, or your `az login` locally.
  credential: new DefaultAzureCredential(),
  redis: { host, port: Number(process.env.REDIS_PORT ?? 10_000) },
});
worker.on("completed", (job, sent) =>
  console.log(`Job ${job.id}: welcome email sent to ${sent.to}`),
);

// A producer for the demo: one sign-up a second.
let signups = 0;
const producer = setInterval(() => {
  signups++;
  void queue.add("welcome", { to: `user${signups}@example.com` });
}, 1_000);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    clearInterval(producer);
    void close();
  });
}
