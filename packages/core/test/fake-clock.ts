export { FakeClock, flushPromises } from "../../testing/src/fake-clock";
