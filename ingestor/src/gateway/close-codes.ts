/**
 * Gateway close codes that no reconnect can fix, with what to do about each.
 * https://discord.com/developers/docs/topics/opcodes-and-status-codes#gateway-gateway-close-event-codes
 */
export function fatalCloseAdvice(code: number, ctx: { shardIds: string; totalShards: string; intents: number }): string | undefined {
  switch (code) {
    case 4004:
      return 'Discord rejected the bot token (close 4004): check DISCORD_TOKEN or the value of the secret DISCORD_TOKEN_SECRET_ARN points at; reset the token in the developer portal if it leaked';
    case 4010:
      return `invalid shard (close 4010): SHARD_IDS=${ctx.shardIds} must all be below TOTAL_SHARDS=${ctx.totalShards}`;
    case 4011:
      return `sharding required (close 4011): a shard would hold more than 2,500 guilds: raise TOTAL_SHARDS (now ${ctx.totalShards}; GET /gateway/bot recommends a count) and redeploy the shard groups`;
    case 4012:
      return 'invalid API version (close 4012): the gateway library and Discord disagree on the version: upgrade @discordjs/ws';
    case 4013:
      return `invalid intents (close 4013): GATEWAY_INTENTS=${ctx.intents} has bits Discord does not know: fix GATEWAY_INTENTS`;
    case 4014:
      return `disallowed intents (close 4014): GATEWAY_INTENTS=${ctx.intents} asks for a privileged intent the application lacks: enable it in the developer portal (Bot > Privileged Gateway Intents: Server Members / Presence / Message Content) or remove it from GATEWAY_INTENTS`;
    default:
      return undefined;
  }
}
