/**
 * Sets `target[key]` to `value` as a property that `util.inspect`, `console.log`,
 * `JSON.stringify`, object spread and `Object.assign` leave out, but that reads like any other:
 * ioredis reads `options.password` and `condition.auth` on every connect, and a token kept in
 * an ordinary property would be printed by anyone logging `redis.options`. Copies made by
 * `duplicate()` lose it; the binding gives each copy the current credentials itself.
 */
export function setHiddenSecret(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, {
    value,
    writable: true,
    configurable: true,
    enumerable: false,
  });
}
