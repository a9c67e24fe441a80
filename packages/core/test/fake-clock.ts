export { FakeClock, flushPromises } from "../src/testing";
