/** A Map-backed stand-in for the few Redis commands the interaction core uses (unit tests only). */
export function fakeRedis() {
  const m = new Map<string, string>();
  return {
    m,
    get: (k: string) => Promise.resolve(m.get(k) ?? null),
    set: (k: string, v: string, ...args: unknown[]) => {
      if (args.includes('NX') && m.has(k)) return Promise.resolve(null);
      m.set(k, v);
      return Promise.resolve('OK');
    },
    ttl: () => Promise.resolve(7),
    del: (k: string) => Promise.resolve(Number(m.delete(k))),
  };
}
