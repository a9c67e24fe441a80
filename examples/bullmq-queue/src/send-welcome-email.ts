import type { Job } from "bullmq";

export interface WelcomeEmail {
  to: string;
}

export interface SentEmail {
  to: string;
  sentAt: string;
}

/** The worker's job: stands in for your mail provider's API call. */
export async function sendWelcomeEmail(job: Job<WelcomeEmail>): Promise<SentEmail> {
  await new Promise((resolve) => setTimeout(resolve, 10));
  return { to: job.data.to, sentAt: new Date().toISOString() };
}
