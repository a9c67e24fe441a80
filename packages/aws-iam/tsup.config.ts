import { packageBuild } from "../../tsup.base";

export default packageBuild({
  // The default credential chain is loaded on first use. In the CommonJS build that is a
  // require(): a dynamic import() there fails where CommonJS runs without ESM support (Jest
  // without --experimental-vm-modules).
  esbuildOptions(options, context) {
    if (context.format === "cjs")
      options.supported = { ...options.supported, "dynamic-import": false };
  },
});
