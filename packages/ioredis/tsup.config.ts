import { packageBuild } from "../../tsup.base";

// `./adapter` (the adapter without ioredis, for iovalkey) is an entry of its own. Splitting puts
// the code both entries share in one chunk, so that both see the same bindings.
export default packageBuild({
  entry: { index: "src/index.ts", "adapter/index": "src/adapter.ts" },
  splitting: true,
});
