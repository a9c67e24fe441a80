// Opens the built documentation site in Chromium and checks that it works: the landing page, a
// guide (ioredis), an API page (core's createTokenManager) and the concepts diagram render without
// console errors, and the search box finds `createTokenManager`. Saves a screenshot of each.
//
//   node docs/scripts/browser-test.mjs [screenshot directory]
//
// Run `pnpm docs:build` first. The site is served from docs/.vitepress/dist by a small static
// server on a free loopback port. Chromium is the system's (Debian's `chromium` package, at
// /usr/bin/chromium, or CHROMIUM_PATH), driven by playwright-core: nothing is downloaded, and
// every request that leaves the local server is blocked. Screenshots go to the directory given as
// the argument, else DOCS_SCREENSHOT_DIR, else .ci/logs. Exits 1 with a message on any failure.
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { dirname, extname, join, normalize, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const docsDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const repoDir = resolve(docsDir, "..");
const distDir = join(docsDir, ".vitepress", "dist");
const screenshotDir = resolve(
  process.argv[2] ?? process.env.DOCS_SCREENSHOT_DIR ?? join(repoDir, ".ci", "logs"),
);
const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const TIMEOUT_MS = 30_000;

const contentTypes = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
};

/** The file a request path is served from, as a static host with clean URLs does. */
function fileFor(pathname) {
  const path = normalize(decodeURIComponent(pathname));
  const base = join(distDir, path);
  if (!base.startsWith(distDir + sep) && base !== distDir) return undefined;
  const candidates = path.endsWith(sep) ? [join(base, "index.html")] : [base, `${base}.html`];
  return candidates.find((file) => existsSync(file) && statSync(file).isFile());
}

/** Serves docs/.vitepress/dist on a free loopback port; resolves with the server and its origin. */
function serveSite() {
  const server = createServer((request, response) => {
    const { pathname } = new URL(request.url ?? "/", "http://localhost");
    const file = fileFor(pathname);
    const status = file === undefined ? 404 : 200;
    const body = readFileSync(file ?? join(distDir, "404.html"));
    const type = contentTypes[extname(file ?? ".html")] ?? "application/octet-stream";
    response.writeHead(status, { "content-type": type }).end(body);
  });
  return new Promise((resolveServer, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      resolveServer({ server, origin: `http://127.0.0.1:${server.address().port}` });
    });
  });
}

/** A failed check: its message is what the run prints. */
class CheckFailed extends Error {}

function expect(condition, message) {
  if (!condition) throw new CheckFailed(message);
}

/** Opens `path`, waits for `selector`, and checks the title and that `text` is on the page. */
async function openPage(page, origin, path, { title, selector, text }) {
  const response = await page.goto(origin + path, { waitUntil: "load", timeout: TIMEOUT_MS });
  expect(response?.ok(), `${path}: HTTP ${response?.status()}`);
  await page.waitForSelector(selector, { timeout: TIMEOUT_MS });
  const pageTitle = await page.title();
  expect(
    pageTitle.includes(title),
    `${path}: title is "${pageTitle}", expected it to contain "${title}"`,
  );
  // biome-ignore lint/performance/useDomNodeTextContent: the text as shown is what is checked
  const bodyText = await page.locator("main, .VPHome").first().innerText();
  expect(bodyText.includes(text), `${path}: the page does not show "${text}"`);
}

const checks = [
  {
    name: "landing page",
    path: "/",
    screenshot: "docs-landing.png",
    fullPage: true,
    title: "redis-credentials",
    selector: ".VPHero",
    text: "Three steps",
  },
  {
    name: "ioredis guide",
    path: "/ioredis",
    screenshot: "docs-guide-ioredis.png",
    title: "ioredis",
    selector: "h1",
    text: "Quick start",
  },
  {
    name: "API page of createTokenManager",
    path: "/api/core/functions/createTokenManager",
    screenshot: "docs-api-createTokenManager.png",
    title: "createTokenManager",
    selector: "h1",
    text: "Creates the token manager for one credential source",
  },
  {
    name: "concepts page and its diagram",
    path: "/concepts",
    screenshot: "docs-concepts.png",
    title: "Concepts",
    selector: "img[src*='token-lifecycle']",
    text: "What happens at a rotation",
    async extra(page) {
      const width = await page
        .locator("img[src*='token-lifecycle']")
        .evaluate((img) => img.complete && img.naturalWidth);
      expect(width > 0, "/concepts: the token lifecycle diagram did not load");
    },
  },
];

/** Opens the search box on the current page, types the query, and checks a result. */
async function checkSearch(page, query) {
  await page.locator("#local-search button").click();
  const input = page.locator("#localsearch-input");
  await input.waitFor({ timeout: TIMEOUT_MS });
  await input.fill(query);
  const results = page.locator(".VPLocalSearchBox .results a.result");
  await results.first().waitFor({ timeout: TIMEOUT_MS });
  const labels = await results.evaluateAll((links) =>
    links.map((link) => `${link.getAttribute("aria-label")} ${link.getAttribute("href")}`),
  );
  expect(
    labels.some((label) => label.includes(query)),
    `search for "${query}": no result mentions it (results: ${labels.slice(0, 5).join(" | ") || "none"})`,
  );
  const apiResult = labels.find((label) =>
    label.includes("/api/core/functions/createTokenManager"),
  );
  expect(apiResult !== undefined, `search for "${query}": its API page is not among the results`);
  return labels.length;
}

async function main() {
  if (!existsSync(join(distDir, "index.html"))) {
    throw new CheckFailed(`no built site in ${distDir}: run \`pnpm docs:build\` first`);
  }
  if (!existsSync(executablePath)) {
    throw new CheckFailed(
      `no Chromium at ${executablePath}: install Debian's \`chromium\` package, or set CHROMIUM_PATH`,
    );
  }
  mkdirSync(screenshotDir, { recursive: true });
  const { server, origin } = await serveSite();
  const browser = await chromium.launch({
    executablePath,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const problems = [];
  const blocked = new Set();
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    // Nothing may leave the local server: the site must work offline.
    await context.route(
      (url) => url.origin !== origin,
      (route) => {
        blocked.add(new URL(route.request().url()).origin);
        return route.abort();
      },
    );
    const page = await context.newPage();
    page.on("console", (message) => {
      if (message.type() === "error")
        problems.push(`console error on ${page.url()}: ${message.text()}`);
    });
    page.on("pageerror", (error) =>
      problems.push(`uncaught error on ${page.url()}: ${error.message}`),
    );
    page.on("response", (response) => {
      if (response.url().startsWith(origin) && response.status() >= 400) {
        problems.push(`HTTP ${response.status()} for ${response.url()}`);
      }
    });

    for (const check of checks) {
      try {
        await openPage(page, origin, check.path, check);
        await check.extra?.(page);
      } finally {
        await page.screenshot({
          path: join(screenshotDir, check.screenshot),
          fullPage: check.fullPage ?? false,
        });
      }
      expect(problems.length === 0, `${check.name}: ${problems.join("; ")}`);
      console.log(`ok   ${check.name} (${check.path})`);
    }

    await page.goto(`${origin}/`, { waitUntil: "load", timeout: TIMEOUT_MS });
    try {
      const count = await checkSearch(page, "createTokenManager");
      console.log(
        `ok   search finds createTokenManager (${count} results, its API page among them)`,
      );
    } finally {
      await page.screenshot({ path: join(screenshotDir, "docs-search.png") });
    }
    expect(problems.length === 0, `search: ${problems.join("; ")}`);
  } finally {
    await browser.close();
    server.close();
  }
  if (blocked.size > 0) console.log(`note: blocked requests to ${[...blocked].join(", ")}`);
  console.log(`docs browser test passed; screenshots in ${screenshotDir}`);
}

main().catch((error) => {
  const message = error instanceof CheckFailed ? error.message : (error?.stack ?? String(error));
  console.error(`docs browser test FAILED: ${message}`);
  console.error(`screenshots (where taken) are in ${screenshotDir}`);
  process.exit(1);
});
