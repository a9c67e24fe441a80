/** What `instrumentTokenManager` returns: the recording of one manager's metrics. */
export interface TokenManagerInstrumentation {
  /**
   * Stops recording: unsubscribes from the diagnostics channels and stops observing the
   * remaining life. Points already recorded stay with the meter provider. Idempotent.
   */
  dispose(): void;
  /** The same as `dispose()`, for `using`. */
  [Symbol.dispose](): void;
}
