import { GatewayDispatchEvents } from 'discord-api-types/v10';
import { ContractError } from './errors';

/** Every dispatch name Discord's gateway v10 can send (from discord-api-types). */
export const DISPATCH_TYPES = Object.freeze(Object.values(GatewayDispatchEvents) as GatewayDispatchEvents[]);
export type DispatchType = `${GatewayDispatchEvents}`;

const KNOWN = new Set<string>(DISPATCH_TYPES);

export const isDispatchType = (t: unknown): t is DispatchType => typeof t === 'string' && KNOWN.has(t);

/** Returns the type unchanged when Discord defines it, else throws UNKNOWN_DISPATCH_TYPE. */
export function assertDispatchType(t: unknown): DispatchType {
  if (!isDispatchType(t)) {
    throw new ContractError('UNKNOWN_DISPATCH_TYPE', `unknown Discord dispatch type ${JSON.stringify(t)}`, ['expected one of the gateway v10 dispatch names, e.g. INTERACTION_CREATE']);
  }
  return t;
}
