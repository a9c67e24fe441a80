import { packageBuild } from "../../tsup.base";

// `./testing` (the fake clock) is an entry of its own, so the main entry never carries it.
export default packageBuild({
  entry: { index: "src/index.ts", "testing/index": "src/testing/index.ts" },
});
