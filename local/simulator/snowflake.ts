/**
 * Discord snowflakes: 42 bits of ms since the Discord epoch (2015-01-01), 5 bits worker, 5 bits
 * process, 12 bits increment. https://discord.com/developers/docs/reference#snowflakes
 */
export const DISCORD_EPOCH = 1420070400000n;

export class SnowflakeGenerator {
  private increment = 0n;
  constructor(
    private readonly worker = 1n,
    private readonly proc = 0n,
  ) {}

  /** A snowflake created at `ms` (Unix ms), default now. */
  next(ms: number = Date.now()): string {
    this.increment = (this.increment + 1n) & 0xfffn;
    return (((BigInt(ms) - DISCORD_EPOCH) << 22n) | (this.worker << 17n) | (this.proc << 12n) | this.increment).toString();
  }
}

/** When the object with this id was created, Unix ms. */
export const snowflakeTime = (id: string): number => Number((BigInt(id) >> 22n) + DISCORD_EPOCH);

/** The shard that receives a guild's events: (guild_id >> 22) % num_shards. https://discord.com/developers/docs/events/gateway#sharding */
export const shardOf = (guildId: string, numShards: number): number => Number((BigInt(guildId) >> 22n) % BigInt(numShards));
