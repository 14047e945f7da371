/**
 * Typed errors of the event contract. Every bad input to the contract ends in one of these codes,
 * never in a crash or a silent default, so callers can route it (e.g. to a DLQ) with its reason.
 */
export type ContractErrorCode = 'UNKNOWN_DISPATCH_TYPE' | 'INVALID_DISPATCH' | 'INVALID_DATA' | 'INVALID_ID' | 'INVALID_ENVELOPE' | 'INVALID_EVENT' | 'INVALID_ROUTING_TABLE' | 'INVALID_GATEWAY_COMMAND' | 'UNKNOWN_APPLICATION';

export class ContractError extends Error {
  override readonly name = 'ContractError';
  constructor(
    readonly code: ContractErrorCode,
    message: string,
    /** Field-level details (zod issues or offending values), safe to log: never contains secrets. */
    readonly details: readonly string[] = [],
  ) {
    super(details.length > 0 ? `${message}: ${details.join('; ')}` : message);
  }
}

export const isContractError = (e: unknown): e is ContractError => e instanceof ContractError;

/** The message of anything thrown (libraries throw non-Errors too). */
export const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));
