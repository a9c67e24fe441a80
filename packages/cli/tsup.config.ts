import { packageBuild } from "../../tsup.base";

// Two builds: the library (ESM + CJS + declarations), and the `redis-credentials` command,
// dist/bin.js, an ES module with its shebang. The library's clean spares the command's files,
// which the other build writes at the same time.
export default [
  packageBuild({ clean: ["!bin.js", "!bin.js.map"] }),
  packageBuild({
    entry: { bin: "src/bin.ts" },
    format: ["esm"],
    dts: false,
    clean: false,
    banner: { js: "#!/usr/bin/env node" },
  }),
];
