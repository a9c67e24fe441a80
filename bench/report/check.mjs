// Checks the report generator on the sample results, in a temporary directory (never docs/):
// what a reader of docs/benchmarks.md would notice if it were wrong. Run: node bench/report/check.mjs

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { formatTable } from "./console-table.mjs";
import { formatNumber, formatRatio, renderMarkdown } from "./markdown.mjs";
import { sampleResults } from "./sample-results.mjs";
import { renderLineChart } from "./svg-chart.mjs";
import { writeReport } from "./write-report.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const out = mkdtempSync(join(tmpdir(), "bench-report-check-"));
const docsDir = join(out, "docs");
const resultsDir = join(out, "results");

/** Runs one named check, printing it as it passes; the first failure stops the run. */
function check(name, body) {
  body();
  console.log(`ok - ${name}`);
}

/** The part of the markdown under `## title`, up to the next `## `. */
function section(markdown, title) {
  const start = markdown.indexOf(`\n## ${title}\n`);
  assert.notEqual(start, -1, `no section "${title}"`);
  const end = markdown.indexOf("\n## ", start + 1);
  return markdown.slice(start, end === -1 ? undefined : end);
}

/** The markdown tables of a text, each as rows of trimmed cells (the rule line left out). */
function tables(text) {
  const found = [];
  let current = null;
  for (const line of text.split("\n")) {
    if (!line.startsWith("|")) {
      current = null;
      continue;
    }
    if (!current) {
      current = [];
      found.push(current);
    }
    if (/^\|[\s:|-]+\|$/.test(line)) continue;
    current.push(
      line
        .slice(1, -1)
        .split(/(?<!\\)\|/)
        .map((cell) => cell.trim()),
    );
  }
  return found;
}

/** The cell of `column` in the ratio row of ours against `other`. */
function ratioCell(ratios, ours, other, column, group) {
  const [header, ...rows] = ratios;
  const row = rows.find(
    (r) =>
      r[0] === `**${ours}**` && r[1].startsWith(other) && (group === undefined || r[2] === group),
  );
  assert.ok(row, `no ratio row ${ours} / ${other} ${group ?? ""}`);
  const index = header.indexOf(column);
  assert.notEqual(index, -1, `no ratio column ${column}`);
  return row[index];
}

/** Every tag closed in order: what an SVG renderer needs of the structure. */
function assertBalancedTags(svg, name) {
  const stack = [];
  for (const [, closing, tag, , selfClosing] of svg.matchAll(
    /<(\/?)([a-zA-Z][\w:-]*)([^>]*?)(\/?)>/g,
  )) {
    if (selfClosing) continue;
    if (!closing) stack.push(tag);
    else assert.equal(stack.pop(), tag, `${name}: </${tag}> closes another tag`);
  }
  assert.deepEqual(stack, [], `${name}: unclosed tags`);
  const opened = svg.match(/<g[\s>]/g)?.length ?? 0;
  assert.equal(opened, svg.match(/<\/g>/g)?.length ?? 0, `${name}: <g> not balanced`);
  assert.ok(opened > 0, `${name}: no <g>`);
}

function assertWellFormedSvg(svg, name) {
  assert.ok(svg.startsWith("<svg"), `${name} does not start with <svg`);
  assert.ok(svg.endsWith("</svg>\n"), `${name} does not end with </svg>`);
  assert.match(svg, /font-family="sans-serif"/);
  assert.doesNotMatch(svg, /NaN|Infinity|undefined|<script|@import|url\(/, `${name}: bad content`);
  // An unescaped & would make the document invalid XML.
  assert.doesNotMatch(svg, /&(?!(amp|lt|gt|quot|apos);)/, `${name}: unescaped &`);
  assertBalancedTags(svg, name);
}

/** Each marker's label is drawn 4 px beside its line, not somewhere else on the chart. */
function assertLabelsBesideMarkers(svg, name) {
  const markers = svg.slice(svg.indexOf('<g class="markers">'), svg.indexOf('<g class="legend">'));
  const lines = [...markers.matchAll(/<line x1="([\d.]+)"/g)].map((m) => Number(m[1]));
  const labels = [...markers.matchAll(/<text x="([\d.]+)"/g)].map((m) => Number(m[1]));
  assert.equal(lines.length, labels.length, `${name}: a label per marker`);
  for (const [i, x] of lines.entries()) {
    const gap = Math.abs(labels[i] - x);
    assert.ok(Math.abs(gap - 4) < 0.02, `${name}: marker label ${i} away from its line`);
  }
}

const escapeXml = (text) =>
  text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");

// A stale chart from an earlier run, and a file that is not a chart, which must stay.
mkdirSync(join(docsDir, "benchmarks"), { recursive: true });
writeFileSync(join(docsDir, "benchmarks", "removed-scenario.svg"), "<svg/>\n");
writeFileSync(join(docsDir, "benchmarks", "README.txt"), "not a chart\n");

const written = writeReport(sampleResults, { docsDir, resultsDir });
const markdown = readFileSync(join(docsDir, "benchmarks.md"), "utf8");
const charts = sampleResults.scenarios.flatMap((s) => s.charts);

check("writeReport writes the JSON, every chart and the page, and returns their paths", () => {
  const expected = [
    join(resultsDir, "2026-12-07.json"),
    ...charts.map((c) => join(docsDir, "benchmarks", `${c.id}.svg`)),
    join(docsDir, "benchmarks.md"),
  ];
  assert.deepEqual(written, expected);
  for (const path of expected) assert.ok(existsSync(path), `${path} missing`);
  const json = readFileSync(expected[0], "utf8");
  assert.ok(json.endsWith("}\n"));
  assert.ok(json.includes('\n  "date": '), "pretty-printed");
  assert.deepEqual(JSON.parse(json), JSON.parse(JSON.stringify(sampleResults)));
});

check("stale charts are deleted, other files kept", () => {
  assert.ok(!existsSync(join(docsDir, "benchmarks", "removed-scenario.svg")));
  assert.ok(existsSync(join(docsDir, "benchmarks", "README.txt")));
});

check("the page says it is generated, when, where and how to reproduce", () => {
  assert.ok(markdown.startsWith("# Benchmarks\n"));
  assert.match(markdown, /generated by `pnpm bench`: do not edit it by hand/);
  assert.match(markdown, /2026-12-07/);
  for (const part of [
    "AMD Ryzen 7 7840U",
    "16 cores",
    "31.1 GB",
    "Linux 6.8.0",
    "Node.js v20.20.2",
  ]) {
    assert.ok(markdown.includes(part), `machine: ${part}`);
  }
  assert.ok(markdown.includes("`pnpm install && pnpm build && pnpm bench`"));
  assert.ok(markdown.includes("`pnpm bench --quick`"));
  assert.ok(markdown.includes("12 min 34 s"), "duration");
  assert.doesNotMatch(markdown, /Quick run/, "a full run has no quick-run warning");
  assert.doesNotMatch(markdown, /undefined|NaN|\[object/);
});

check("a quick run is flagged before anything else", () => {
  const quick = renderMarkdown(
    { ...sampleResults, quick: true, command: "pnpm bench --quick" },
    { chartPath: (c) => `${c.id}.svg` },
  );
  const warning = quick.indexOf("**Quick run.**");
  assert.ok(warning > 0 && warning < quick.indexOf("This page is generated"));
});

check("headlines come first, each with its value and detail", () => {
  const headlines = section(markdown, "Headlines");
  assert.ok(
    markdown.indexOf("## Headlines") < markdown.indexOf(`## ${sampleResults.scenarios[0].title}`),
  );
  for (const h of sampleResults.headlines) {
    for (const part of [h.label, h.value, h.detail]) assert.ok(headlines.includes(part), part);
  }
});

check("every scenario has its summary, every system and every column with its unit", () => {
  for (const scenario of sampleResults.scenarios) {
    const text = section(markdown, scenario.title);
    assert.ok(text.includes(scenario.summary));
    const [results] = tables(text);
    const [header, ...rows] = results;
    for (const c of scenario.columns) {
      assert.ok(
        header.includes(c.unit ? `${c.label} (${c.unit})` : c.label),
        `${scenario.id}: column ${c.label}`,
      );
    }
    assert.equal(rows.length, scenario.rows.length);
    for (const row of scenario.rows) {
      assert.ok(
        rows.some((r) => r[0].includes(row.system)),
        `${scenario.id}: system ${row.system}`,
      );
    }
  }
});

check("cells show median, unit and min–max; rounds once; missing figures as —", () => {
  const connect = section(markdown, "Connections and commands");
  assert.match(connect, /\| +2\.64 ms <small>\(2\.51–2\.9\)<\/small> \|/);
  // The same min and max need no spread.
  assert.match(connect, /\| +200 \|/);
  assert.ok(connect.includes("4,058 ops/s <small>(3,921–4,103)</small>"));
  assert.equal(connect.match(/median of 5 rounds/g)?.length, 1);
  const floor = tables(connect)[0].find((r) => r[0].startsWith("ioredis, static password"));
  assert.equal(floor.at(-1), "—");
  const entra = section(markdown, "Entra ID token acquisition");
  // A single round has no spread to show.
  assert.ok(tables(entra)[0][1].at(-1) === "1", "rounds: 1 shows the median alone");
});

check("ratios: ours / other, two decimals, within the group, only ranked columns", () => {
  const connect = tables(section(markdown, "Connections and commands"));
  const ratios = connect[1];
  // 2.64 ms / 2.49 ms = 1.0602… → 1.06×
  assert.equal(
    ratioCell(ratios, "redis-credentials (ioredis)", "ioredis, static password", "Connect + AUTH"),
    "1.06×",
  );
  // 4,058.26 / 3,163.54 ops/s = 1.2828… → 1.28×
  assert.equal(
    ratioCell(
      ratios,
      "redis-credentials (ioredis)",
      "ioredis + manual AUTH timer",
      "Sequential GET",
    ),
    "1.28×",
  );
  // 121,480.6 / 119,870.2 = 1.0134… → 1.01×
  assert.equal(
    ratioCell(ratios, "redis-credentials (node-redis)", "@redis/entraid", "Pipelined GET"),
    "1.01×",
  );
  assert.ok(!ratios[0].includes("Token fetches"), "better: none has no ratio");
  assert.ok(
    !ratios.some((r) => r[0].includes("node-redis") && r[1].includes("ioredis")),
    "groups apart",
  );
  // 3 comparisons for ioredis (alternative, floor, A/A) and 2 for node-redis.
  assert.equal(ratios.length - 1, 5);

  const rotation = tables(section(markdown, "Token rotation under load"))[1];
  // 1,003.47 / 5,412.9 = 0.1853… → 0.19×
  const ours = "redis-credentials (ioredis)";
  assert.equal(
    ratioCell(
      rotation,
      ours,
      "ioredis + manual AUTH timer",
      "All re-authenticated",
      "1,000 connections",
    ),
    "0.19×",
  );
  // 0 failed / 0 failed: no ratio.
  assert.equal(
    ratioCell(rotation, ours, "ioredis, static password", "Failed commands", "1,000 connections"),
    "—",
  );
  assert.equal(
    ratioCell(
      rotation,
      ours,
      "ioredis + manual AUTH timer",
      "Failed commands",
      "1,000 connections",
    ),
    "0.00×",
  );
  // A missing figure has no ratio.
  assert.equal(
    ratioCell(
      rotation,
      ours,
      "ioredis + manual AUTH timer",
      "Failed commands",
      "10,000 connections",
    ),
    "—",
  );
});

check("the ratios say which direction is better and what the A/A row shows", () => {
  const connect = section(markdown, "Connections and commands");
  assert.match(
    connect,
    /Connect \+ AUTH and Heap per connection: lower is better, so a ratio below 1× means ours is better/,
  );
  assert.match(
    connect,
    /Sequential GET and Pipelined GET: higher is better, so a ratio above 1× means ours is better/,
  );
  // A/A: the second plain client against the first, 2.54 / 2.49 = 1.02008 → strays by 2.0%.
  assert.match(connect, /\*\*Noise band\.\*\*/);
  assert.ok(connect.includes("±2.0% for Connect + AUTH"));
  assert.match(connect, /closer to 1× than the A\/A row's is not a real difference/);
  assert.match(section(markdown, "Entra ID token acquisition"), /has no A\/A row/);
});

check("targets: met, not met, not resolved, with measured and reason", () => {
  const connect = section(markdown, "Connections and commands");
  assert.ok(
    connect.includes(
      "- ✅ met: Connect + AUTH within 10% of the static-password floor (measured: 1.06× (ioredis), 1.06× (node-redis))\n",
    ),
  );
  assert.ok(
    connect.includes(
      "- ❌ not met: Heap per connection under 5 KB (measured: 5.6 KB (ioredis)). Reason: each ioredis connection keeps",
    ),
  );
  const rotation = section(markdown, "Token rotation under load");
  assert.match(
    rotation,
    /- ➖ not resolved on this machine: 10,000 connections .*measured: 1,013 ms.*ran out of file descriptors/,
  );
});

check("charts are linked relative to docs/, notes listed", () => {
  for (const chart of charts)
    assert.ok(markdown.includes(`![${chart.title}](benchmarks/${chart.id}.svg)`));
  for (const note of sampleResults.scenarios.flatMap((s) => s.notes))
    assert.ok(markdown.includes(`- ${note}`));
});

check(
  "every chart file is a well-formed SVG with every series in its legend and its markers",
  () => {
    for (const chart of charts) {
      const svg = readFileSync(join(docsDir, "benchmarks", `${chart.id}.svg`), "utf8");
      assertWellFormedSvg(svg, chart.id);
      const legend = svg.slice(svg.indexOf('<g class="legend">'));
      for (const s of chart.series)
        assert.ok(legend.includes(`>${escapeXml(s.name)}</text>`), `legend: ${s.name}`);
      for (const m of chart.markers)
        assert.ok(svg.includes(`>${escapeXml(m.label)}</text>`), `marker: ${m.label}`);
      assert.equal(svg.match(/stroke-dasharray="6 4"/g)?.length ?? 0, chart.markers.length);
      assertLabelsBesideMarkers(svg, chart.id);
      assert.ok(svg.includes(`(${chart.y.unit})`) || !chart.y.unit, "y unit on the axis label");
      assert.equal(renderLineChart(chart), svg, "same input, same bytes");
    }
    const throughput = readFileSync(join(docsDir, "benchmarks", "rotation-throughput.svg"), "utf8");
    assert.match(throughput, />\d+(\.\d+)?k</, "large values as 12.3k");
  },
);

check("six series get six colors and six dash patterns", () => {
  const chart = charts.find((c) => c.series.length === 6);
  const svg = renderLineChart(chart);
  const lines = [
    ...svg.matchAll(
      /<polyline [^>]*stroke="(#[0-9A-F]{6})"[^>]*?(?:stroke-dasharray="([^"]+)")?\/>/g,
    ),
  ];
  assert.equal(lines.length, 6);
  assert.equal(new Set(lines.map((m) => m[1])).size, 6);
  assert.equal(new Set(lines.map((m) => m[2] ?? "solid")).size, 6);
});

check("charts survive odd data: empty, one point, zeros, uneven, negative, huge", () => {
  const base = {
    id: "edge",
    x: { label: "Time", unit: "s" },
    y: { label: "Value", unit: "ops/s" },
    markers: [],
  };
  const cases = {
    "no series": { series: [] },
    "empty series": {
      series: [{ name: "nothing", points: [] }],
      markers: [{ x: 3, label: "marker alone" }],
    },
    "single point": { series: [{ name: "one", points: [[5, 7]] }] },
    "all zeros": {
      series: [
        {
          name: "zeros",
          points: [
            [0, 0],
            [1, 0],
            [2, 0],
          ],
        },
      ],
    },
    "uneven lengths": {
      series: [
        {
          name: "long",
          points: [
            [0, 1],
            [1, 2],
            [2, 3],
            [3, 4],
            [4, 5],
          ],
        },
        { name: "short", points: [[1, 2]] },
        {
          name: "unsorted & <odd> name",
          points: [
            [3, 1],
            [1, 3],
            [2, Number.NaN],
          ],
        },
      ],
    },
    "y max 0": {
      series: [
        {
          name: "negative",
          points: [
            [0, -5],
            [1, -2],
            [2, 0],
          ],
        },
      ],
    },
    huge: {
      series: [
        {
          name: "big",
          points: [
            [0, 0],
            [1, 1_234_567],
            [2, 2_400_000],
          ],
        },
      ],
    },
    "twelve series": {
      series: Array.from({ length: 12 }, (_, i) => ({
        name: `series ${i}`,
        points: [
          [0, i],
          [1, i * 2],
        ],
      })),
    },
  };
  for (const [name, data] of Object.entries(cases)) {
    const svg = renderLineChart({ ...base, title: name, ...data });
    assertWellFormedSvg(svg, name);
    assertLabelsBesideMarkers(svg, name);
    for (const s of data.series) assert.ok(svg.includes(escapeXml(s.name)), `${name}: legend`);
    assert.equal(svg, renderLineChart({ ...base, title: name, ...data }), `${name}: deterministic`);
  }
  assert.match(renderLineChart({ ...base, title: "", ...cases["no series"] }), /No data/);
  assert.match(renderLineChart({ ...base, title: "", ...cases["single point"] }), /<circle /);
  assert.match(renderLineChart({ ...base, title: "", ...cases.huge }), />2.5M</);
  assert.match(renderLineChart({ ...base, title: "", ...cases["y max 0"] }), />-5</);
});

check("numbers: 3 significant digits, thousands separators, integers stay integers", () => {
  const expected = [
    [0.123, "0.123"],
    [0.12345, "0.123"],
    [12.34, "12.3"],
    [456.4, "456"],
    [42, "42"],
    [0, "0"],
    [1000, "1,000"],
    [12_345.6, "12,346"],
    [999.7, "1,000"],
    [-1234, "-1,234"],
    [Number.NaN, "—"],
  ];
  for (const [value, text] of expected) assert.equal(formatNumber(value), text, String(value));
  assert.equal(formatRatio(0.97, 1), "0.97×");
  assert.equal(formatRatio(1, 0), "—");
  assert.equal(formatRatio(undefined, 1), "—");
});

check("console table: aligned columns, medians with units", () => {
  for (const scenario of sampleResults.scenarios) {
    const table = formatTable(scenario);
    const [title, ...lines] = table.trimEnd().split("\n");
    assert.equal(title, scenario.title);
    assert.equal(
      new Set(lines.map((line) => [...line].length)).size,
      1,
      `${scenario.id}: ragged lines`,
    );
    for (const row of scenario.rows) assert.ok(table.includes(row.system));
  }
  const connect = formatTable(sampleResults.scenarios[0]);
  assert.ok(connect.includes("2.64 ms"));
  assert.ok(connect.includes("87,053 ops/s"));
});

check("node bench/report.mjs rebuilds the docs from a saved file", () => {
  const cli = join(here, "..", "report.mjs");
  const docs = join(out, "cli-docs");
  const saved = join(resultsDir, "2026-12-07.json");
  const run = spawnSync(process.execPath, [cli, "--docs", docs, "--results", resultsDir], {
    encoding: "utf8",
  });
  assert.equal(run.status, 0, run.stderr);
  assert.ok(run.stdout.includes(saved), "default: the newest dated file");
  assert.equal(readFileSync(join(docs, "benchmarks.md"), "utf8"), markdown);
  const empty = join(out, "no-results");
  const missing = spawnSync(process.execPath, [cli, "--docs", docs, "--results", empty], {
    encoding: "utf8",
  });
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /No results file/);
});

rmSync(out, { recursive: true, force: true });
console.log("All checks passed.");
