import { describe, expect, it } from 'vitest';
import { CircuitBreaker, CircuitOpenError } from '../../../lambdas/shared/circuit-breaker';

const fail = () => Promise.reject(new Error('down'));

describe('circuit breaker', () => {
  it('stays closed below the threshold, and a success resets the count', async () => {
    const b = new CircuitBreaker(3, 1000, () => 0);
    await expect(b.call(fail)).rejects.toThrow('down');
    await expect(b.call(fail)).rejects.toThrow('down');
    expect(await b.call(() => Promise.resolve('ok'))).toBe('ok');
    await expect(b.call(fail)).rejects.toThrow('down');
    await expect(b.call(fail)).rejects.toThrow('down');
    expect(b.state).toBe('closed');
  });

  it('fails fast while open without calling the function, and says when to retry', async () => {
    let t = 0;
    let calls = 0;
    const b = new CircuitBreaker(2, 30_000, () => t);
    for (let i = 0; i < 2; i++) await expect(b.call(fail)).rejects.toThrow('down');
    t = 10_000;
    const err = await b
      .call(() => {
        calls++;
        return Promise.resolve();
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CircuitOpenError);
    expect((err as CircuitOpenError).retryInMs).toBe(20_000);
    expect(calls).toBe(0);
  });

  it('reopens when the half-open trial fails, and lets only one trial through at a time', async () => {
    let t = 0;
    const b = new CircuitBreaker(1, 1000, () => t);
    await expect(b.call(fail)).rejects.toThrow('down');
    t = 1000;
    expect(b.state).toBe('half-open');
    let release!: () => void;
    const trial = b.call(() => new Promise<void>((r) => (release = r)));
    await expect(b.call(() => Promise.resolve(1))).rejects.toBeInstanceOf(CircuitOpenError);
    release();
    await trial;
    expect(b.state).toBe('closed');

    await expect(b.call(fail)).rejects.toThrow('down');
    t = 2000;
    await expect(b.call(fail)).rejects.toThrow('down');
    expect(b.state).toBe('open');
  });
});
