/**
 * What a user installs when they add one of our packages: no install script, exactly the
 * dependencies its README lists (and nothing its source imports beyond them), the metadata that
 * lets them find the repository, and the license.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { builtinModules } from "node:module";
import { join } from "node:path";

const root = join(__dirname, "..", "..");
const packagesDir = join(root, "packages");

interface PackageJson {
  name: string;
  private?: boolean;
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  repository?: { type?: string; url?: string; directory?: string };
  homepage?: string;
  bugs?: { url?: string };
}

const published = readdirSync(packagesDir)
  .map((folder) => ({
    folder,
    dir: join(packagesDir, folder),
    json: JSON.parse(
      readFileSync(join(packagesDir, folder, "package.json"), "utf8"),
    ) as PackageJson,
  }))
  .filter((pkg) => !pkg.json.private);

// npm runs these on the user's machine when the package is installed (prepare: from a git URL).
const INSTALL_SCRIPTS = ["preinstall", "install", "postinstall", "prepare"];

/** The names listed under the README's "## Dependencies" heading. */
function documentedDependencies(readme: string): string[] {
  const start = readme.indexOf("\n## Dependencies\n");
  if (start < 0) return [];
  const rest = readme.slice(start + 1);
  const end = rest.indexOf("\n## ", 1);
  const section = end < 0 ? rest : rest.slice(0, end);
  return [...section.matchAll(/^- `([^`]+)`/gm)].map((match) => match[1] as string).sort();
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith(".ts") ? [path] : [];
  });
}

/** The packages the source loads at run time (type-only imports are erased). */
function runtimeImports(dir: string): Set<string> {
  const names = new Set<string>();
  for (const file of sourceFiles(join(dir, "src"))) {
    const text = readFileSync(file, "utf8");
    const specifiers = [
      ...text.matchAll(/^\s*import\s+(?!type\s)[^;]*?from\s+"([^"]+)"/gms),
      ...text.matchAll(/^\s*export\s+(?!type\s)[^;]*?from\s+"([^"]+)"/gms),
      ...text.matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g),
      ...text.matchAll(/\brequire\(\s*"([^"]+)"\s*\)/g),
    ].map((match) => match[1] as string);
    for (const specifier of specifiers) {
      if (specifier.startsWith(".")) continue;
      const parts = specifier.split("/");
      names.add(specifier.startsWith("@") ? `${parts[0]}/${parts[1]}` : (parts[0] as string));
    }
  }
  return names;
}

const isBuiltin = (name: string) => name.startsWith("node:") || builtinModules.includes(name);

describe.each(published)("$json.name", ({ folder, dir, json }) => {
  const declared = [
    ...Object.keys(json.dependencies ?? {}),
    ...Object.keys(json.peerDependencies ?? {}),
  ].sort();

  test("has no install script", () => {
    const found = INSTALL_SCRIPTS.filter((name) => json.scripts?.[name] !== undefined);
    expect(found).toEqual([]);
  });

  test("its README lists exactly the production dependencies of its package.json", () => {
    const readme = readFileSync(join(dir, "README.md"), "utf8");
    expect(documentedDependencies(readme)).toEqual(declared);
  });

  test("its source loads nothing but Node.js built-ins and its declared dependencies", () => {
    const undeclared = [...runtimeImports(dir)].filter(
      (name) => !isBuiltin(name) && name !== json.name && !declared.includes(name),
    );
    expect(undeclared).toEqual([]);
  });

  test("names its repository, homepage and issue tracker", () => {
    expect(json.repository?.url).toMatch(/^git\+https:\/\/github\.com\/.+\.git$/);
    expect(json.repository?.directory).toBe(`packages/${folder}`);
    expect(json.homepage).toMatch(/^https:\/\//);
    expect(json.bugs?.url).toMatch(/^https:\/\/.+\/issues$/);
  });

  test("ships the repository's LICENSE", () => {
    expect(readFileSync(join(dir, "LICENSE"), "utf8")).toBe(
      readFileSync(join(root, "LICENSE"), "utf8"),
    );
    const packed = JSON.parse(
      execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], {
        cwd: dir,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      }),
    ) as { files: { path: string }[] }[];
    expect(packed[0]?.files.map((file) => file.path)).toContain("LICENSE");
  });
});

test("every published package is checked", () => {
  // A package that turned private by mistake, or a folder that lost its package.json, would
  // silently drop out of the checks above.
  expect(published.map((pkg) => pkg.folder).sort()).toEqual([
    "aws-iam",
    "cli",
    "core",
    "entra-id",
    "gcp-iam",
    "ioredis",
    "iovalkey",
    "node-redis",
    "opentelemetry",
    "testing",
    "valkey-glide",
  ]);
});
