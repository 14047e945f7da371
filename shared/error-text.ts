/** The message of anything thrown, for a log line or a dead letter's reason. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
