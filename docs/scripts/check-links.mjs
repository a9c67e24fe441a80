// Checks every internal link of the built site (docs/.vitepress/dist): the page or file it points
// to exists, and so does the anchor (`#section`). VitePress's own check (ignoreDeadLinks: false)
// fails the build on a link to a missing page but does not look at anchors.
//
//   node scripts/check-links.mjs [dist directory]
//
// Exits 1 listing every broken link.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const docsDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const distDir = resolve(process.argv[2] ?? join(docsDir, ".vitepress", "dist"));

if (!existsSync(join(distDir, "index.html"))) {
  console.error(`check-links: no built site in ${distDir}; run the build first.`);
  process.exit(1);
}

/** Every .html file under `dir`. */
function htmlFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return htmlFiles(path);
    return entry.name.endsWith(".html") ? [path] : [];
  });
}

/** The page's own content: VitePress's SSR output inside #app, without the inlined scripts. */
function pageHtml(file) {
  return readFileSync(file, "utf8").replace(/<script\b[\s\S]*?<\/script>/g, "");
}

function decodeEntities(value) {
  return value
    .replace(/&amp;/g, "&")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">");
}

/** The file a site path is served from (clean URLs: /core → core.html, /api/ → api/index.html). */
function fileFor(pathname) {
  const path = decodeURIComponent(pathname);
  const candidates = path.endsWith("/")
    ? [join(distDir, path, "index.html")]
    : [join(distDir, path), join(distDir, `${path}.html`), join(distDir, path, "index.html")];
  return candidates.find((candidate) => existsSync(candidate) && statSync(candidate).isFile());
}

const idsByFile = new Map();
function idsOf(file) {
  let ids = idsByFile.get(file);
  if (ids === undefined) {
    ids = new Set();
    if (file.endsWith(".html")) {
      for (const match of pageHtml(file).matchAll(/\sid="([^"]*)"/g)) {
        ids.add(decodeEntities(match[1]));
      }
    }
    idsByFile.set(file, ids);
  }
  return ids;
}

const broken = [];
let checked = 0;
for (const file of htmlFiles(distDir)) {
  const page = `/${relative(distDir, file).split("\\").join("/")}`;
  for (const match of pageHtml(file).matchAll(/<a\b[^>]*?\shref="([^"]*)"/g)) {
    const href = decodeEntities(match[1]);
    if (/^[a-z][a-z0-9+.-]*:|^\/\//i.test(href)) continue; // external, mailto:, javascript:
    checked++;
    const url = new URL(href, `http://site${page}`);
    const target = url.pathname === page ? file : fileFor(url.pathname);
    if (target === undefined) {
      broken.push(`${page}: ${href} (no such page)`);
      continue;
    }
    const anchor = decodeURIComponent(url.hash.slice(1));
    if (anchor !== "" && !idsOf(target).has(anchor)) {
      broken.push(`${page}: ${href} (no #${anchor} on ${relative(distDir, target)})`);
    }
  }
}

if (broken.length > 0) {
  console.error(`check-links: ${broken.length} broken internal links:\n  ${broken.join("\n  ")}`);
  process.exit(1);
}
console.log(`check-links: ${checked} internal links checked, none broken`);
