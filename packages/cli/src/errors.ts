/** Bad flags or arguments: exit code 2, with a message that says what to change. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}
