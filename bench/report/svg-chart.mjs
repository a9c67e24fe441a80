// Line charts for docs/benchmarks.md, as standalone SVG documents: no scripts, no web fonts (they
// are shown through <img>, where neither would load), and byte-for-byte deterministic, so that
// rebuilding the docs from the same results leaves git clean.

/** @typedef {import("./results-schema.mjs").Chart} Chart */

const WIDTH = 800;
const MIN_HEIGHT = 420;
const MIN_PLOT_HEIGHT = 220;
const TOP = 48;
const RIGHT = 24;
const FONT_SIZE = 12;
const LEGEND_ROW = 18;
const LEGEND_SWATCH = 36;

/**
 * Okabe–Ito's palette (without its yellow, unreadable on white) and three of Paul Tol's muted
 * colors: told apart with the common color-vision deficiencies.
 */
export const PALETTE = [
  "#0072B2",
  "#E69F00",
  "#009E73",
  "#D55E00",
  "#CC79A7",
  "#56B4E9",
  "#000000",
  "#882255",
  "#999933",
  "#7F7F7F",
];

/** One dash pattern per color, so that lines stay apart in grayscale and without color vision. */
export const DASHES = [
  "",
  "10 4",
  "2 3",
  "10 3 2 3",
  "5 5",
  "16 4 3 4 3 4",
  "1 5",
  "10 3 2 3 2 3",
  "7 2",
  "16 3 6 3",
];

/**
 * Renders a line chart, one line per series, as a standalone SVG document.
 * @param {Chart} chart
 * @returns {string} The SVG document, starting with `<svg` and ending with a newline.
 */
export function renderLineChart(chart) {
  const series = (chart.series ?? []).map((s, index) => ({
    name: String(s.name),
    points: cleanPoints(s.points),
    color: PALETTE[index % PALETTE.length],
    dash: DASHES[index % DASHES.length],
  }));
  const markers = (chart.markers ?? []).filter((m) => Number.isFinite(m.x));
  const xs = [...series.flatMap((s) => s.points.map((p) => p[0])), ...markers.map((m) => m.x)];
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  // The y axis starts at 0 so that line heights compare; x starts where the data does.
  const xTicks = niceTicks(...domain(xs, false));
  const yTicks = niceTicks(...domain(ys, true));
  const yLabels = tickLabels(yTicks);
  const left = 40 + Math.max(...yLabels.map((label) => textWidth(label, 11)));
  const legend = layoutLegend(series, left, WIDTH - RIGHT);
  const bottom = 16 + 24 + 12 + legend.rows * LEGEND_ROW + 8;
  const height = Math.max(MIN_HEIGHT, TOP + MIN_PLOT_HEIGHT + bottom);
  const plot = { left, right: WIDTH - RIGHT, top: TOP, bottom: height - bottom };
  const scale = {
    x: linear(xTicks[0], xTicks.at(-1), plot.left, plot.right),
    y: linear(yTicks[0], yTicks.at(-1), plot.bottom, plot.top),
  };
  const title = String(chart.title ?? "");
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-labelledby="chart-title" font-family="sans-serif" font-size="${FONT_SIZE}">`,
    `<title id="chart-title">${escapeXml(title)}</title>`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="${left}" y="28" font-size="16" font-weight="bold" fill="#222222">${escapeXml(title)}</text>`,
    renderGrid(xTicks, yTicks, yLabels, scale, plot),
    renderAxisLabels(chart, plot),
    ys.length === 0 ? renderNoData(plot) : "",
    renderSeries(series, scale),
    renderMarkers(markers, scale, plot),
    renderLegend(legend, plot.bottom + 52),
    "</svg>",
  ]
    .filter((part) => part !== "")
    .join("\n")
    .concat("\n");
}

/** Finite points sorted by x: a polyline drawn out of order would zigzag back over itself. */
function cleanPoints(points) {
  return (points ?? [])
    .filter((p) => Array.isArray(p) && Number.isFinite(p[0]) && Number.isFinite(p[1]))
    .map((p) => [p[0], p[1]])
    .sort((a, b) => a[0] - b[0]);
}

/**
 * The range to draw: never empty (a single point or all-equal values get room around them).
 * @returns {[number, number]}
 */
function domain(values, includeZero) {
  if (values.length === 0) return [0, 1];
  // A loop, not Math.min(...values): a long run's series can exceed the arguments limit.
  let min = values[0];
  let max = values[0];
  for (const value of values) {
    if (value < min) min = value;
    if (value > max) max = value;
  }
  if (includeZero) {
    min = Math.min(0, min);
    max = Math.max(0, max);
  }
  if (min === max) {
    const pad = Math.abs(min) * 0.1 || 1;
    return min === 0 ? [0, 1] : [min - pad, max + pad];
  }
  return [min, max];
}

/**
 * Ticks at 1, 2, 2.5 or 5 × 10ⁿ spanning [min, max]: the finest such step that needs at most
 * `count` + 1 ticks, so that the axis ends close above the data rather than up to twice as high.
 */
export function niceTicks(min, max, count = 5) {
  let exponent = Math.floor(Math.log10((max - min) / count)) - 1;
  for (let attempt = 0; attempt < 12; attempt++, exponent++) {
    for (const multiple of [1, 2, 2.5, 5]) {
      const step = multiple * 10 ** exponent;
      const start = Math.floor(min / step);
      const end = Math.ceil(max / step);
      if (end - start <= count) {
        // toPrecision removes float noise such as 0.30000000000000004.
        return Array.from({ length: end - start + 1 }, (_, i) =>
          Number(((start + i) * step).toPrecision(12)),
        );
      }
    }
  }
  return [min, max];
}

const SUFFIXES = [
  [1e12, "T"],
  [1e9, "G"],
  [1e6, "M"],
  [1e3, "k"],
];

/**
 * Tick labels in one scale for the whole axis (12.5k, 1.2M; plain 1,250 below 10,000, where a
 * suffix saves nothing) and with as many decimals as the step needs, so that neighbouring ticks
 * never print the same.
 */
export function tickLabels(ticks) {
  const largest = Math.max(...ticks.map(Math.abs));
  const [divisor, suffix] =
    largest >= 10_000 ? (SUFFIXES.find(([size]) => largest >= size) ?? [1, ""]) : [1, ""];
  const step = Math.abs(ticks[1] - ticks[0]) / divisor;
  // From the step's first significant digit, one more while it has more (2.5 needs one).
  let decimals = Math.max(0, -Math.floor(Math.log10(step)));
  const fraction = (d) => Math.abs(Math.round(step * 10 ** d) - step * 10 ** d);
  while (decimals < 15 && fraction(decimals) > 1e-3) decimals++;
  return ticks.map((tick) =>
    tick === 0 ? "0" : `${withSeparators((tick / divisor).toFixed(decimals))}${suffix}`,
  );
}

/** "12345.5" → "12,345.5" */
function withSeparators(fixed) {
  const [whole, fraction] = fixed.split(".");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return fraction === undefined ? grouped : `${grouped}.${fraction}`;
}

function linear(domainMin, domainMax, rangeMin, rangeMax) {
  const span = domainMax - domainMin || 1;
  return (value) => rangeMin + ((value - domainMin) / span) * (rangeMax - rangeMin);
}

function renderGrid(xTicks, yTicks, yLabels, scale, plot) {
  const xLabels = tickLabels(xTicks);
  const lines = [];
  yTicks.forEach((tick, i) => {
    const y = num(scale.y(tick));
    lines.push(
      `<line x1="${plot.left}" y1="${y}" x2="${plot.right}" y2="${y}" stroke="#e5e5e5"/>`,
      `<text x="${plot.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle" font-size="11" fill="#444444">${yLabels[i]}</text>`,
    );
  });
  xTicks.forEach((tick, i) => {
    const x = num(scale.x(tick));
    lines.push(
      `<line x1="${x}" y1="${plot.bottom}" x2="${x}" y2="${plot.bottom + 4}" stroke="#444444"/>`,
      `<text x="${x}" y="${plot.bottom + 16}" text-anchor="middle" font-size="11" fill="#444444">${xLabels[i]}</text>`,
    );
  });
  lines.push(
    `<path d="M${plot.left} ${plot.top}V${plot.bottom}H${plot.right}" fill="none" stroke="#444444"/>`,
  );
  return group("axes", lines);
}

function renderAxisLabels(chart, plot) {
  const middleY = num((plot.top + plot.bottom) / 2);
  const middleX = num((plot.left + plot.right) / 2);
  return group("axis-labels", [
    `<text x="${middleX}" y="${plot.bottom + 36}" text-anchor="middle" fill="#222222">${escapeXml(axisLabel(chart.x))}</text>`,
    `<text transform="translate(16 ${middleY}) rotate(-90)" text-anchor="middle" fill="#222222">${escapeXml(axisLabel(chart.y))}</text>`,
  ]);
}

/** "Latency (ms)": the unit on the axis label rather than on every tick. */
function axisLabel(axis) {
  const label = String(axis?.label ?? "");
  return axis?.unit ? `${label} (${axis.unit})` : label;
}

function renderNoData(plot) {
  return `<text x="${num((plot.left + plot.right) / 2)}" y="${num((plot.top + plot.bottom) / 2)}" text-anchor="middle" fill="#777777">No data</text>`;
}

function renderSeries(series, scale) {
  const lines = series.map((s) => {
    const dash = s.dash ? ` stroke-dasharray="${s.dash}"` : "";
    const shape =
      // A polyline through one point draws nothing: a dot shows it.
      s.points.length === 1
        ? `<circle cx="${num(scale.x(s.points[0][0]))}" cy="${num(scale.y(s.points[0][1]))}" r="4" fill="${s.color}"/>`
        : s.points.length > 1
          ? `<polyline points="${s.points.map((p) => `${num(scale.x(p[0]))},${num(scale.y(p[1]))}`).join(" ")}" fill="none" stroke="${s.color}" stroke-width="2" stroke-linejoin="round"${dash}/>`
          : "";
    return `<g>\n<title>${escapeXml(s.name)}</title>${shape ? `\n${shape}` : ""}\n</g>`;
  });
  return group("series", lines);
}

function renderMarkers(markers, scale, plot) {
  const parts = markers.map((marker, i) => {
    const x = scale.x(marker.x);
    // Labels of nearby markers are staggered, and those near the right edge drawn leftwards.
    const y = plot.top + 12 + (i % 3) * 14;
    const nearRight = x > plot.left + (plot.right - plot.left) * 0.75;
    const anchor = nearRight ? ` text-anchor="end"` : "";
    const labelX = nearRight ? x - 4 : x + 4;
    return [
      `<line x1="${num(x)}" y1="${plot.top}" x2="${num(x)}" y2="${plot.bottom}" stroke="#333333" stroke-width="1.5" stroke-dasharray="6 4"/>`,
      `<text x="${num(labelX)}" y="${y}"${anchor} font-size="11" fill="#222222" stroke="#ffffff" stroke-width="3" paint-order="stroke">${escapeXml(String(marker.label))}</text>`,
    ].join("\n");
  });
  return group("markers", parts);
}

/** Legend entries in a grid under the x axis label: as many columns as the widest name allows. */
function layoutLegend(series, left, right) {
  const widest = Math.max(0, ...series.map((s) => textWidth(s.name, FONT_SIZE)));
  const columnWidth = LEGEND_SWATCH + 6 + widest + 24;
  const columns = Math.max(1, Math.floor((right - left) / columnWidth));
  const items = series.map((s, i) => ({
    ...s,
    x: left + (i % columns) * columnWidth,
    row: Math.floor(i / columns),
  }));
  return { items, rows: Math.ceil(series.length / columns) };
}

function renderLegend(legend, top) {
  const parts = legend.items.map((item) => {
    const y = top + item.row * LEGEND_ROW;
    const dash = item.dash ? ` stroke-dasharray="${item.dash}"` : "";
    return [
      `<line x1="${item.x}" y1="${y}" x2="${item.x + LEGEND_SWATCH}" y2="${y}" stroke="${item.color}" stroke-width="2.5"${dash}/>`,
      `<text x="${item.x + LEGEND_SWATCH + 6}" y="${y}" dominant-baseline="middle" fill="#222222">${escapeXml(item.name)}</text>`,
    ].join("\n");
  });
  return group("legend", parts);
}

function group(name, parts) {
  return [`<g class="${name}">`, ...parts, "</g>"].join("\n");
}

/** An estimate (no font metrics without a browser): sans-serif averages ~0.6 em per character. */
function textWidth(text, fontSize) {
  return Math.ceil([...text].length * fontSize * 0.6);
}

/** Two decimals at most, and never "-0": stable bytes across runs and platforms. */
function num(value) {
  const rounded = Math.round(value * 100) / 100;
  return String(rounded === 0 ? 0 : rounded);
}

function escapeXml(text) {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&apos;");
}
