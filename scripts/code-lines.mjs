// Counts code lines of TypeScript files: lines that are not blank, do not start with `//`, and
// are not inside or on a `/* … */` block. Usage: node scripts/code-lines.mjs <file or dir>...
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";

function files(target) {
  if (statSync(target).isFile()) return [target];
  return readdirSync(target).flatMap((name) => files(path.join(target, name)));
}

function codeLines(text) {
  let inBlock = false;
  let count = 0;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (inBlock) {
      if (line.includes("*/")) inBlock = false;
      continue;
    }
    if (line.startsWith("/*")) {
      if (!line.includes("*/")) inBlock = true;
      continue;
    }
    if (line === "" || line.startsWith("//")) continue;
    count++;
  }
  return count;
}

let total = 0;
for (const file of process.argv
  .slice(2)
  .flatMap(files)
  .filter((f) => f.endsWith(".ts"))) {
  const n = codeLines(readFileSync(file, "utf8"));
  total += n;
  console.log(`${String(n).padStart(5)} ${file}`);
}
console.log(`${String(total).padStart(5)} total`);
