/** A message body no retry can fix: thrown so its record fails, and SQS dead-letters it after maxReceiveCount. */
export class PoisonMessageError extends Error {
  override readonly name = "PoisonMessageError";
}
