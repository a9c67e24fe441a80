import { assertKnownOptions, InvalidOptionsError } from "../../src";

const known = ["userId", "region"];
const suggestions = { user: "pass the user's id as `userId`." };

test("known options pass; unknown ones are named, with what the first probably meant", () => {
  expect(() => assertKnownOptions({ userId: "a", region: "b" }, known, suggestions)).not.toThrow();
  const error = (() => {
    try {
      assertKnownOptions({ user: "a", colour: "b" }, known, suggestions);
    } catch (thrown) {
      return thrown as InvalidOptionsError;
    }
  })();
  expect(error).toBeInstanceOf(InvalidOptionsError);
  expect(error?.option).toBe("user/colour");
  expect(error?.message).toBe(
    "Invalid option `user/colour`: unknown options: pass the user's id as `userId`. The options are userId, region.",
  );
});

test("a key that shares a name with an Object.prototype member gets no borrowed hint", () => {
  expect(() => assertKnownOptions({ constructor: 1 }, known, suggestions)).toThrow(
    "Invalid option `constructor`: unknown option. The options are userId, region.",
  );
});
