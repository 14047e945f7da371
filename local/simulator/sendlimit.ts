/**
 * Discord's gateway send limit: "Apps can send 120 gateway events per connection every 60 seconds ...
 * Apps that surpass the limit are immediately disconnected" (close 4008;
 * https://discord.com/developers/docs/events/gateway#rate-limiting). Enforced here as a sliding window
 * over every payload a connection sends (heartbeats, IDENTIFY and RESUME included): a client that
 * limits itself per fixed window can still put more than 120 into some 60 s span, and this catches it.
 */
export class SlidingWindowCounter {
  /** arrival times inside the window, oldest first (a ring would save the shift; 121 entries do not need it) */
  private readonly times: number[] = [];
  /** the most payloads seen in any window so far */
  max = 0;

  constructor(readonly windowMs: number) {}

  /** Records one arrival at `now` and returns how many arrived in the window that ends at it, this one included. */
  add(now: number): number {
    // a window ending at `now` holds the arrivals after now - windowMs
    while (this.times.length > 0 && (this.times[0] ?? now) <= now - this.windowMs) this.times.shift();
    this.times.push(now);
    if (this.times.length > this.max) this.max = this.times.length;
    return this.times.length;
  }

  /** Arrivals in the window ending at `now`, without recording one. */
  count(now: number): number {
    return this.times.filter((t) => t > now - this.windowMs).length;
  }
}

/**
 * Heartbeat timing of one connection: a heartbeat later than `interval * 1.5` after the previous one
 * (or after HELLO, for the first) is late, the same margin the simulator's zombie check starts from.
 */
export class HeartbeatClock {
  count = 0;
  late = 0;
  maxGapMs = 0;
  private last: number;

  constructor(
    readonly intervalMs: number,
    helloAt: number,
  ) {
    this.last = helloAt;
  }

  /** Records a heartbeat at `now`; returns whether it was late. */
  beat(now: number): boolean {
    const gap = now - this.last;
    this.last = now;
    this.count++;
    if (gap > this.maxGapMs) this.maxGapMs = gap;
    const late = gap > this.intervalMs * 1.5;
    if (late) this.late++;
    return late;
  }
}
