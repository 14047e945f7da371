/**
 * Guilds per shard, for /ready: READY lists them, GUILD_CREATE adds, GUILD_DELETE (not an outage)
 * removes. Reads only ids, and ignores a payload of any other shape.
 */
const idOf = (v: unknown): string | undefined => {
  const id = (v as { id?: unknown } | null)?.id;
  return typeof id === 'string' ? id : undefined;
};

export class GuildCounter {
  private readonly byShard = new Map<number, Set<string>>();

  observe(type: string, data: unknown, shardId: number): void {
    if (typeof data !== 'object' || data === null) return;
    if (type === 'READY') {
      const guilds = (data as { guilds?: unknown }).guilds;
      this.byShard.set(shardId, new Set(Array.isArray(guilds) ? guilds.map(idOf).filter((g): g is string => g !== undefined) : []));
    } else if (type === 'GUILD_CREATE') {
      const id = idOf(data);
      if (!id) return;
      let set = this.byShard.get(shardId);
      if (!set) this.byShard.set(shardId, (set = new Set()));
      set.add(id);
    } else if (type === 'GUILD_DELETE' && (data as { unavailable?: unknown }).unavailable !== true) {
      const id = idOf(data);
      if (id) this.byShard.get(shardId)?.delete(id);
    }
  }

  count(shardIds: Iterable<number>): number {
    let n = 0;
    for (const id of shardIds) n += this.byShard.get(id)?.size ?? 0;
    return n;
  }
}
