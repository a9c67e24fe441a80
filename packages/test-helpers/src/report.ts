/** One line of figures on stderr (jest leaves it alone), for the record of a run. */
export function report(label: string, figures: Record<string, unknown>): void {
  if (process.env.REDIS_CREDENTIALS_FIGURES !== "1") return;
  process.stderr.write(`[figures] ${label}: ${JSON.stringify(figures)}\n`);
}
