import type { TokenCredential } from "@azure/identity";
import { createTokenManager, type TokenManagerOptions } from "@redis-credentials/core";
import { entraId } from "@redis-credentials/entra-id";
import { createRedis } from "@redis-credentials/ioredis";
import { Queue, Worker } from "bullmq";
import { type SentEmail, sendWelcomeEmail, type WelcomeEmail } from "./send-welcome-email";

export interface EmailQueueConfig {
  /** Who the app is on Microsoft Entra ID: on Azure, `new DefaultAzureCredential()`. */
  credential: TokenCredential;
  /** Your Azure Managed Redis endpoint (port 10000), over TLS; `ca` only for a private CA. */
  redis: { host: string; port: number; ca?: string };
  /** Jobs the worker runs at once. @default 5 */
  concurrency?: number;
  /** The token manager's options. @default the core's, made for Entra's hour-long tokens */
  tokenManager?: TokenManagerOptions;
}

export interface EmailQueue {
  queue: Queue<WelcomeEmail, SentEmail>;
  worker: Worker<WelcomeEmail, SentEmail>;
  close(): Promise<void>;
}

/** A BullMQ queue of welcome emails and the worker that sends them, on Entra ID-authenticated Redis. */
export async function startEmailQueue(config: EmailQueueConfig): Promise<EmailQueue> {
  const manager = createTokenManager(
    entraId({ credential: config.credential }),
    config.tokenManager,
  );
  // One bound client for the queue and the worker. BullMQ makes the worker's blocking connection
  // with duplicate(), which the adapter binds too: every connection re-authenticates on its own.
  const connection = await createRedis(manager, {
    host: config.redis.host,
    port: config.redis.port,
    tls: { ca: config.redis.ca },
    maxRetriesPerRequest: null, // BullMQ's workers require it
  }).catch(async (error: unknown) => {
    await manager.dispose();
    throw error;
  });

  const queue = new Queue<WelcomeEmail, SentEmail>("welcome-emails", { connection });
  const worker = new Worker<WelcomeEmail, SentEmail>("welcome-emails", sendWelcomeEmail, {
    connection,
    concurrency: config.concurrency ?? 5,
  });
  worker.on("failed", (job, error) => console.error(`Job ${job?.id} failed: ${error.message}`));
  await worker.waitUntilReady();

  return {
    queue,
    worker,
    async close() {
      await worker.close();
      await queue.close();
      await connection.quit(); // BullMQ leaves a connection it was given open
      await manager.dispose();
    },
  };
}
