// The three figures the README quotes, read from a run's results: what the identity provider
// sees, what the server sees at a rotation, and what the hot path costs.

const median = (scenario, system, key, group) =>
  scenario?.rows.find(
    (row) => row.system === system && (group === undefined || row.group === group),
  )?.figures[key]?.median;

const times = (value) =>
  Number.isFinite(value) ? `${Number(value.toPrecision(3)).toLocaleString("en")}×` : "—";
const count = (value) => (Number.isFinite(value) ? value.toLocaleString("en") : "—");

/** @param {import("./report/results-schema.mjs").Results} results */
export function headlines(results) {
  const byId = Object.fromEntries(results.scenarios.map((scenario) => [scenario.id, scenario]));
  const idp = byId["idp-load"];
  const largest = idp?.rows.at(-1)?.group;
  const oursRequests = median(idp, "ours · one manager", "requests", largest);
  const sampleRequests = median(idp, "Azure sample · timer per client", "requests", largest);
  const rotation = byId.rotation;
  const oursPeak = median(rotation, "ours · node-redis", "peakAuthsPerSecond");
  const entraidPeak = median(rotation, "@redis/entraid · node-redis", "peakAuthsPerSecond");
  const hot = byId["hot-path"];
  const oursSequential = median(hot, "ours · ioredis", "sequential");
  const plainSequential = median(hot, "plain · ioredis", "sequential");
  const secondSequential = median(hot, "plain · ioredis, a second client", "sequential");
  return [
    {
      label: "Token requests",
      value: times(sampleRequests / oursRequests),
      detail: `fewer than the Azure sample's timer per client: ${count(oursRequests)} against ${count(sampleRequests)} in 24 simulated hours with ${largest}`,
    },
    {
      label: "Peak AUTH rate at a rotation",
      value: times(entraidPeak / oursPeak),
      detail: `lower than node-redis with @redis/entraid: ${count(oursPeak)} against ${count(entraidPeak)} AUTHs per second (${rotation?.rows[0]?.group})`,
    },
    {
      label: "Hot path",
      value: times(oursSequential / plainSequential),
      detail: `the plain ioredis client's sequential throughput, through the ioredis adapter; two identical plain clients came out ${times(secondSequential / plainSequential)} apart in the same rounds`,
    },
  ];
}
