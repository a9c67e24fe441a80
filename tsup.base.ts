import { defineConfig, type Options } from "tsup";

/**
 * The one build every public package shares: ESM + CJS + declarations for both,
 * so that `exports` can point each condition at its own `types`.
 */
export function packageBuild(overrides: Options = {}) {
  return defineConfig({
    entry: ["src/index.ts"],
    format: ["esm", "cjs"],
    dts: true,
    sourcemap: true,
    clean: true,
    target: "node20",
    platform: "node",
    splitting: false,
    treeshake: true,
    ...overrides,
  });
}
