import { adapterRows } from "./bad-input-adapter-rows";
import { cliRows } from "./bad-input-cli-rows";
import { BadInputContext } from "./bad-input-context";
import { coreRows } from "./bad-input-core-rows";
import { opentelemetryRows } from "./bad-input-opentelemetry-rows";
import {
  type BadInputRow,
  closeQuietly,
  describeOutcome,
  expectedOutcome,
  outcomeOf,
} from "./bad-input-row";
import { sourceRows } from "./bad-input-source-rows";
import { testingRows } from "./bad-input-testing-rows";

/*
 * Bad input at every public entry point: each row gives one entry point one wrong input (a wrong
 * type, a number out of range, NaN or Infinity, a missing option, an unknown key, a source or
 * identity library answering garbage), and must get a typed error — the class by `instanceof`
 * and by `name` — whose message names what was wrong and never shows the token, thrown at once
 * or rejected within a bound: never a crash, a hang, an unhandled rejection (jest.setup.cjs
 * fails the file on one) or a silent acceptance.
 */

const context = new BadInputContext();
const rows: BadInputRow[] = [
  ...coreRows(context),
  ...sourceRows(context),
  ...adapterRows(context),
  ...testingRows(),
  ...cliRows(),
  ...opentelemetryRows(context),
];

afterEach(() => context.cleanUp());

test("the table covers at least 80 rows", () => {
  expect(rows.length).toBeGreaterThanOrEqual(80);
});

test.each(rows.map((row) => [`${row.entry}: ${row.input}`, row] as const))(
  "%s",
  async (_title, row) => {
    const withinMs = row.withinMs ?? 5_000;
    const outcome = await outcomeOf(row.run, withinMs);
    if (outcome.kind === "accepted") await closeQuietly(outcome.value);
    expect(describeOutcome(row, outcome)).toEqual(expectedOutcome(row));
    expect(outcome.ms).toBeLessThan(withinMs);
  },
);
