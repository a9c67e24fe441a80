// Generates the API reference (docs/api/, gitignored) from the TSDoc of every published package:
// TypeDoc over each package's src/index.ts, written as VitePress Markdown by
// typedoc-plugin-markdown and typedoc-vitepress-theme (which also writes the sidebar,
// docs/api/typedoc-sidebar.json, that .vitepress/config.ts reads).
//
//   node scripts/api.mjs            from docs/ (what `pnpm docs:build` and `pnpm docs:dev` run)
//
// Fails when TypeDoc reports an error or when a published package has no src/index.ts
// (DOCS_API_ALLOW_MISSING=1 leaves such a package out, for a package still being written). TSDoc
// nits are warnings: they are printed, never fatal.
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Application, Comment, Converter, LogLevel, ReflectionKind } from "typedoc";

const docsDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const repoDir = resolve(docsDir, "..");
const outDir = join(docsDir, "api");

/** Every package under packages/ that is published (not private), with its entry point. */
function publishedPackages() {
  const packagesDir = join(repoDir, "packages");
  return readdirSync(packagesDir, { withFileTypes: true })
    .filter(
      (entry) => entry.isDirectory() && existsSync(join(packagesDir, entry.name, "package.json")),
    )
    .map((entry) => {
      const dir = join(packagesDir, entry.name);
      const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
      return {
        dir: entry.name,
        name: manifest.name,
        description: manifest.description,
        private: manifest.private === true,
      };
    })
    .filter((pkg) => !pkg.private)
    .map((pkg) => ({ ...pkg, entryPoint: join(packagesDir, pkg.dir, "src", "index.ts") }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

const allowMissing = process.env.DOCS_API_ALLOW_MISSING === "1";
const found = publishedPackages();
const missing = found.filter((pkg) => !existsSync(pkg.entryPoint));
if (missing.length > 0) {
  const names = missing.map((pkg) => pkg.name).join(", ");
  if (!allowMissing) {
    console.error(
      `API reference: no src/index.ts in ${names}. Every published package exports its API ` +
        "from src/index.ts (DOCS_API_ALLOW_MISSING=1 leaves them out while they are written).",
    );
    process.exit(1);
  }
  console.warn(`API reference: leaving out ${names} (no src/index.ts yet)`);
}
const packages = found.filter((pkg) => existsSync(pkg.entryPoint));

// Each module is named for its package (`@redis-credentials/core`), whatever TypeDoc would
// derive from its path, and introduced by the package's description.
const packageByEntryPoint = new Map(packages.map((pkg) => [pkg.entryPoint, pkg]));

rmSync(outDir, { recursive: true, force: true });
const app = await Application.bootstrapWithPlugins({
  name: "API reference",
  entryPoints: packages.map((pkg) => pkg.entryPoint),
  entryPointStrategy: "resolve",
  tsconfig: join(docsDir, "tsconfig.api.json"),
  plugin: ["typedoc-plugin-markdown", "typedoc-vitepress-theme"],
  out: outDir,
  docsRoot: docsDir,
  readme: "none",
  excludePrivate: true,
  excludeProtected: true,
  excludeInternal: true,
  excludeExternals: true,
  // Type errors are `pnpm typecheck`'s business; the reference documents what the sources say.
  skipErrorChecking: true,
  gitRevision: "main",
  sourceLinkTemplate:
    "https://github.com/redis-credentials/redis-credentials/blob/{gitRevision}/{path}#L{line}",
  logLevel: LogLevel.Warn,
  // typedoc-plugin-markdown
  hidePageTitle: false,
  hideBreadcrumbs: true,
  useCodeBlocks: true,
  parametersFormat: "table",
  enumMembersFormat: "table",
  indexFormat: "table",
  typeDeclarationFormat: "list",
  sanitizeComments: true,
  excludeScopesInPaths: true,
  // typedoc-vitepress-theme
  sidebar: { autoConfiguration: true, format: "vitepress", collapsed: true, pretty: true },
});

app.converter.on(Converter.EVENT_RESOLVE_BEGIN, (context) => {
  for (const module of context.project.getReflectionsByKind(ReflectionKind.Module)) {
    const file = module.sources?.[0]?.fullFileName;
    const pkg = file && packageByEntryPoint.get(resolve(file));
    if (!pkg) continue;
    module.name = pkg.name;
    if (pkg.description && !module.comment) {
      module.comment = new Comment([{ kind: "text", text: pkg.description }]);
    }
  }
});

const project = await app.convert();
if (!project) {
  console.error("API reference: TypeDoc could not convert the packages (see above).");
  process.exit(1);
}
app.validate(project);
if (app.logger.hasErrors()) {
  console.error("API reference: TypeDoc reported errors (see above).");
  process.exit(1);
}
await app.generateOutputs(project);
if (app.logger.hasErrors()) process.exit(1);
console.log(
  `API reference: ${packages.length} packages written to ${outDir} (${app.logger.warningCount} warnings)`,
);
