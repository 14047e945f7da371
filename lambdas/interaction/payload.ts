/**
 * What the interaction worker reads of an INTERACTION_CREATE, checked with zod at its boundary: a
 * payload of another shape (a non-array `data.options`, an id that is no snowflake) is a
 * ContractError, so the record goes to the DLQ on first sight with the field named, instead of a
 * TypeError retried maxReceiveCount times. Fields it does not read pass through unchecked.
 * https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-object
 */
import { z } from 'zod';
import { ContractError, formatIssues, SnowflakeSchema } from '../../lib/contract';

const OptionSchema = z.looseObject({
  name: z.string(),
  type: z.number().int(),
  value: z.union([z.string(), z.number(), z.boolean()]).optional(),
});

export const InteractionPayloadSchema = z.looseObject({
  id: SnowflakeSchema,
  token: z.string().min(1),
  type: z.number().int(),
  guild_id: SnowflakeSchema.optional(),
  channel_id: SnowflakeSchema.optional(),
  member: z.looseObject({ user: z.looseObject({ id: SnowflakeSchema }).optional() }).optional(),
  user: z.looseObject({ id: SnowflakeSchema }).optional(),
  data: z.looseObject({ name: z.string().optional(), options: z.array(OptionSchema).optional() }).optional(),
});
export type InteractionPayload = z.infer<typeof InteractionPayloadSchema>;

export function parseInteractionPayload(data: unknown, envelopeId: string): InteractionPayload {
  const r = InteractionPayloadSchema.safeParse(data);
  if (!r.success) {
    throw new ContractError('INVALID_DATA', `INTERACTION_CREATE ${envelopeId} has a payload the worker cannot read`, formatIssues(r.error));
  }
  return r.data;
}
