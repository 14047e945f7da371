/** A Map-backed stand-in for the few Redis commands the interaction core uses (unit tests only). */
export function fakeRedis() {
  const m = new Map<string, string>();
  return {
    m,
    get: async (k: string) => m.get(k) ?? null,
    set: async (k: string, v: string, ...args: unknown[]) => {
      if (args.includes('NX') && m.has(k)) return null;
      m.set(k, v);
      return 'OK';
    },
    ttl: async () => 7,
    del: async (k: string) => Number(m.delete(k)),
  };
}
