import { existsSync, readFileSync } from "node:fs";
import { dirname, join, posix, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type DefaultTheme, defineConfig } from "vitepress";

const repository = "https://github.com/redis-credentials/redis-credentials";
const docsDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const repoDir = resolve(docsDir, "..");

/** A package's entry in typedoc-vitepress-theme's sidebar: its link and its members. */
interface ApiSidebarPackage {
  text: string;
  link: string;
  items: DefaultTheme.SidebarItem[];
}

/**
 * The API reference's sidebars, from the one typedoc-vitepress-theme writes when `scripts/api.mjs`
 * runs: one per package, listing every package but opening only its own, so that a page carries
 * one package's entries rather than all of them. Before the first generation there is none.
 */
function apiSidebars(): DefaultTheme.SidebarMulti {
  const file = join(docsDir, "api", "typedoc-sidebar.json");
  const packages: ApiSidebarPackage[] = existsSync(file)
    ? JSON.parse(readFileSync(file, "utf8"))
    : [];
  const closed = packages.map(({ text, link }) => ({ text, link }));
  const sidebars: DefaultTheme.SidebarMulti = {
    "/api/": [{ text: "API reference", link: "/api/", items: closed }],
  };
  packages.forEach((pkg, index) => {
    const items = closed.map((item, i) => (i === index ? { ...pkg, collapsed: false } : item));
    sidebars[pkg.link] = [{ text: "API reference", link: "/api/", items }];
  });
  return sidebars;
}

/**
 * Heading ids as GitHub makes them (lower case, punctuation dropped, spaces to hyphens), so that
 * the hand-written pages' anchors work on the site and on GitHub alike. The generated API pages
 * keep VitePress's own ids, which typedoc-vitepress-theme writes their links for.
 */
function githubSlug(title: string): string {
  return title
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
    .replace(/ /g, "-");
}

// VitePress's default slugify (the same as @mdit-vue/shared's), for the API pages.
function vitepressSlug(title: string): string {
  return (
    title
      .normalize("NFKD")
      .replace(/[\u0300-\u036F]/g, "")
      // biome-ignore lint/suspicious/noControlCharactersInRegex: VitePress's slugify drops them too
      .replace(/[\u0000-\u001f]/g, "")
      .replace(/[\s~`!@#$%^&*()\-_+=[\]{}|\\;:"'“”‘’<>,.?/]+/g, "-")
      .replace(/-{2,}/g, "-")
      .replace(/^-+|-+$/g, "")
      .replace(/^(\d)/, "_$1")
      .toLowerCase()
  );
}

interface MarkdownEnv {
  relativePath?: string;
}

/**
 * A relative link that leaves docs/ (to a package's README or source, an example, a benchmark
 * result) points at that path on GitHub: the site cannot serve it, and on GitHub the relative
 * link keeps working in the Markdown itself.
 */
function githubUrlFor(href: string, env: MarkdownEnv): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:|^\/\/|^#|^\//i.test(href) || env.relativePath === undefined) {
    return undefined;
  }
  const [path = "", hash] = href.split("#", 2);
  const target = resolve(docsDir, dirname(env.relativePath), decodeURI(path));
  const fromDocs = relative(docsDir, target);
  if (!fromDocs.startsWith("..")) return undefined;
  const fromRepo = relative(repoDir, target).split("\\").join(posix.sep);
  return `${repository}/tree/main/${encodeURI(fromRepo)}${hash === undefined ? "" : `#${hash}`}`;
}

const guideSidebar: DefaultTheme.SidebarItem[] = [
  {
    text: "Introduction",
    items: [
      { text: "Getting started", link: "/getting-started" },
      { text: "Concepts", link: "/concepts" },
      { text: "Examples", link: "/examples" },
    ],
  },
  {
    text: "Clients",
    items: [
      { text: "ioredis", link: "/ioredis" },
      { text: "node-redis", link: "/node-redis" },
      { text: "iovalkey", link: "/iovalkey" },
      { text: "Valkey GLIDE", link: "/valkey-glide" },
    ],
  },
  {
    text: "Clouds",
    items: [
      { text: "Azure (Entra ID)", link: "/azure" },
      { text: "AWS (ElastiCache, MemoryDB)", link: "/aws" },
      { text: "Google Cloud (Memorystore)", link: "/gcp" },
    ],
  },
  {
    text: "Guides",
    items: [
      { text: "A custom credential source", link: "/custom-source" },
      { text: "Testing your app", link: "/testing-your-app" },
      { text: "Troubleshooting", link: "/troubleshooting" },
      { text: "Migrating", link: "/migrating" },
    ],
  },
  {
    text: "Operations",
    items: [
      { text: "redis-credentials doctor", link: "/doctor" },
      { text: "OpenTelemetry metrics", link: "/opentelemetry" },
      { text: "Reliability", link: "/reliability" },
      { text: "Benchmarks", link: "/benchmarks" },
    ],
  },
  {
    text: "Reference",
    items: [
      { text: "The core: token lifecycle", link: "/core" },
      { text: "The testing package", link: "/testing" },
      { text: "API reference", link: "/api/" },
    ],
  },
];

export default defineConfig({
  title: "redis-credentials",
  description:
    "Keep Node.js Redis and Valkey connections authenticated with short-lived tokens: Entra ID, AWS IAM, GCP IAM or your own source.",
  lang: "en-US",
  base: "/",
  cleanUrls: true,
  // Any broken internal link fails the build (scripts/check-links.mjs then checks the anchors).
  ignoreDeadLinks: false,
  lastUpdated: false,
  markdown: {
    anchor: {
      slugifyWithState: (title: string, state: { env: MarkdownEnv }) =>
        state.env.relativePath?.startsWith("api/") ? vitepressSlug(title) : githubSlug(title),
    },
    config(md) {
      md.core.ruler.push("github-links", (state) => {
        for (const block of state.tokens) {
          for (const token of block.children ?? []) {
            if (token.type !== "link_open") continue;
            const href = token.attrGet("href");
            const url = href === null ? undefined : githubUrlFor(href, state.env as MarkdownEnv);
            if (url !== undefined) token.attrSet("href", url);
          }
        }
      });
    },
  },
  vite: {
    // The local search index holds every page, the API reference included (about 0.9 MB); it is
    // loaded only when the search box opens.
    build: { chunkSizeWarningLimit: 1500 },
  },
  themeConfig: {
    nav: [
      { text: "Guide", link: "/getting-started", activeMatch: "^/(getting-started|concepts)" },
      {
        text: "Clients",
        items: [
          { text: "ioredis", link: "/ioredis" },
          { text: "node-redis", link: "/node-redis" },
          { text: "iovalkey", link: "/iovalkey" },
          { text: "Valkey GLIDE", link: "/valkey-glide" },
        ],
      },
      {
        text: "Clouds",
        items: [
          { text: "Azure", link: "/azure" },
          { text: "AWS", link: "/aws" },
          { text: "Google Cloud", link: "/gcp" },
        ],
      },
      { text: "Troubleshooting", link: "/troubleshooting" },
      { text: "API", link: "/api/", activeMatch: "^/api/" },
    ],
    sidebar: {
      ...apiSidebars(),
      "/": guideSidebar,
    },
    search: { provider: "local" },
    outline: [2, 3],
    socialLinks: [{ icon: "github", link: repository }],
    footer: { message: "Released under the MIT License." },
  },
});
