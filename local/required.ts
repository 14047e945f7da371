/**
 * A field an AWS answer always carries but the SDK types as optional (QueueUrl, MessageId, ARN, ...),
 * or an index the code just filled: its value, or an error that names what was missing.
 */
export function required<T>(value: T | null | undefined, what: string): T {
  if (value === undefined || value === null) throw new Error(`${what} is missing`);
  return value;
}
