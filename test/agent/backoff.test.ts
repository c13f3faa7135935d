import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Backoff } from '../../src/agent/backoff.js';
import { Mutex } from '../../src/agent/mutex.js';

describe('Backoff', () => {
  it('draws every delay between 0 and an exponentially growing ceiling, never above the cap', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5_000 }),
        fc.integer({ min: 1, max: 60_000 }),
        fc.array(fc.double({ min: 0, max: 0.999_999, noNaN: true }), { minLength: 1, maxLength: 60 }),
        (baseMs, capMs, draws) => {
          let i = 0;
          const backoff = new Backoff({ baseMs, capMs, random: () => draws[i++ % draws.length] ?? 0 });
          for (let attempt = 0; attempt < draws.length; attempt++) {
            const ceiling = Math.min(capMs, baseMs * 2 ** attempt);
            expect(backoff.ceilingMs()).toBe(ceiling);
            const delay = backoff.nextDelayMs();
            expect(delay).toBeGreaterThanOrEqual(0);
            expect(delay).toBeLessThan(Math.max(ceiling, 1));
          }
        },
      ),
    );
  });

  it('reaches the cap and starts over after a reset', () => {
    const backoff = new Backoff({ baseMs: 100, capMs: 30_000, random: () => 0.999 });
    for (let i = 0; i < 100; i++) backoff.nextDelayMs();
    expect(backoff.ceilingMs()).toBe(30_000);
    expect(backoff.nextDelayMs()).toBe(29_970);
    backoff.reset();
    expect(backoff.ceilingMs()).toBe(100);
  });
});

describe('Mutex', () => {
  it('runs tasks one at a time in arrival order, surviving failures', async () => {
    const mutex = new Mutex();
    const events: string[] = [];
    const task = (name: string, fail = false) => async () => {
      events.push(`start ${name}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
      events.push(`end ${name}`);
      if (fail) throw new Error(name);
      return name;
    };
    const results = await Promise.allSettled([
      mutex.runExclusive(task('a')),
      mutex.runExclusive(task('b', true)),
      mutex.runExclusive(task('c')),
    ]);
    expect(events).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(mutex.pending).toBe(0);
  });
});
