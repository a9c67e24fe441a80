// The shape of what `pnpm bench` measures, shared by the run (which fills it in) and the report
// (which turns it into docs/benchmarks.md, SVG charts and console tables). Types only: the run
// saves this object as bench/results/<YYYY-MM-DD>.json, so the docs can be rebuilt from the file
// alone with `node bench/report.mjs`.

/**
 * One benchmark run.
 * @typedef {object} Results
 * @property {string} date ISO timestamp of the run; its YYYY-MM-DD names the saved results file.
 * @property {boolean} quick A `--quick` run (small sizes, few rounds): a smoke test, not a
 *   measurement, which the page says prominently.
 * @property {string} command The command that produced the run, e.g. "pnpm bench".
 * @property {number} durationMs How long the whole run took.
 * @property {Machine} machine Where it ran.
 * @property {Headline[]} headlines The few figures a reader should see first.
 * @property {Scenario[]} scenarios
 */

/**
 * @typedef {object} Machine
 * @property {string} cpuModel
 * @property {number} cpus Logical cores.
 * @property {number} memoryMb
 * @property {string} os
 * @property {string} node Node.js version, e.g. "v20.20.2".
 */

/**
 * @typedef {object} Headline
 * @property {string} label
 * @property {string} value Already formatted, e.g. "0.97× the connect time of ioredis alone".
 * @property {string} detail
 */

/**
 * One thing measured across several systems.
 * @typedef {object} Scenario
 * @property {string} id
 * @property {string} title
 * @property {string} summary Markdown paragraph.
 * @property {Column[]} columns
 * @property {Row[]} rows
 * @property {Target[]} targets
 * @property {Chart[]} charts
 * @property {string[]} notes
 */

/**
 * @typedef {"lower" | "higher" | "none"} Better Which direction of a column is better; "none"
 *   for figures that describe rather than rank (e.g. a count of token requests), left out of ratios.
 */

/**
 * @typedef {object} Column
 * @property {string} key Key of the figure in each row's `figures`.
 * @property {string} label
 * @property {string} unit
 * @property {Better} better
 */

/**
 * @typedef {"ours" | "alternative" | "floor" | "aa"} RowKind "ours": this SDK; "alternative":
 *   another way to do the same; "floor": the same client with no token handling at all (the
 *   best achievable); "aa": ours measured a second time as if it were another system, whose ratio
 *   to ours is the noise of the run.
 */

/**
 * @typedef {object} Row
 * @property {string} system
 * @property {RowKind} kind
 * @property {string} group Rows are compared only within a group (e.g. "ioredis", or "1,000
 *   connections").
 * @property {Record<string, Figure | undefined>} figures By column key; a missing figure prints "—".
 */

/**
 * @typedef {object} Figure
 * @property {number} median
 * @property {number} min
 * @property {number} max
 * @property {number} rounds
 * @property {string} unit
 */

/**
 * @typedef {object} Target
 * @property {string} text What the target is, e.g. "Connect time within 5% of the floor".
 * @property {true | false | null} met null: not resolved on this machine (e.g. the difference is
 *   inside the noise band).
 * @property {string} measured
 * @property {string} [reason] Why it was not met or not resolved.
 */

/**
 * @typedef {object} Chart
 * @property {string} id File name (without .svg) in docs/benchmarks/.
 * @property {string} title
 * @property {Axis} x
 * @property {Axis} y
 * @property {ChartSeries[]} series
 * @property {ChartMarker[]} markers
 */

/**
 * @typedef {object} Axis
 * @property {string} label
 * @property {string} unit
 */

/**
 * @typedef {object} ChartSeries
 * @property {string} name
 * @property {[number, number][]} points [x, y] pairs.
 */

/**
 * @typedef {object} ChartMarker A vertical dashed line, e.g. "rotation".
 * @property {number} x
 * @property {string} label
 */

export {};
