/**
 * `eventsMaxStreamsPerUser` holds across replicas (issue 14): two `ldfleet server` replicas on
 * one PostgreSQL, a cap of 3 streams per user. The admin's two dashboard streams (one per
 * replica) and one more on B take the cap; the next, on A, is closed with 4029; a slot freed on
 * B lets one in on A; a killed replica's slots stop counting once its lease lapses.
 */
import pg from 'pg';
import { afterEach, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { EventsCloseCode } from '../../src/server/events/index.js';
import { closeCodeOf, wsUrl } from '../gateway/helpers.js';
import { describePostgres, eventually, startCluster } from './helpers.js';
import type { Replica, TestCluster } from './helpers.js';

interface Stream {
  socket: WebSocket;
  /** 0 while open. */
  code: number;
}

async function openStream(replica: Replica): Promise<Stream> {
  const socket = new WebSocket(wsUrl(replica.url, '/api/v1/events'), { headers: { authorization: `Bearer ${replica.client.currentToken ?? ''}` } });
  const stream = { socket, code: 0 };
  void closeCodeOf(socket).then((code) => (stream.code = code));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return stream;
}

async function slotCount(databaseUrl: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const result = await client.query<{ n: string }>('SELECT count(*) AS n FROM stream_slots s JOIN replicas r ON r.id = s.replica_id');
    return Number(result.rows[0]?.n);
  } finally {
    await client.end();
  }
}

describePostgres('event streams per user across replicas', () => {
  let cluster: TestCluster | undefined;
  const streams: Stream[] = [];

  afterEach(async () => {
    for (const stream of streams.splice(0)) stream.socket.terminate();
    await cluster?.close();
    cluster = undefined;
  }, 60_000);

  it('counts a user\'s streams on every replica against one cap', async () => {
    cluster = await startCluster(2, { LDFLEET_EVENTS_MAX_STREAMS_PER_USER: '3' });
    const [a, b] = cluster.replicas;
    if (!a || !b) throw new Error('two replicas');
    const { databaseUrl } = cluster;
    await eventually(async () => (await slotCount(databaseUrl)) === 2, 10_000, 'the two dashboard streams counted');

    const third = await openStream(b);
    streams.push(third);
    await eventually(async () => (await slotCount(databaseUrl)) === 3, 10_000, 'the third stream counted');
    // A holds one stream of this user, under its own cap: only the shared count refuses it.
    const refused = await openStream(a);
    streams.push(refused);
    await eventually(() => refused.code !== 0, 10_000, 'the fourth stream closed');
    expect(refused.code).toBe(EventsCloseCode.tooManyStreams);
    expect(third.code).toBe(0);
    expect(await slotCount(databaseUrl)).toBe(3);

    third.socket.close();
    await eventually(async () => (await slotCount(databaseUrl)) === 2, 10_000, 'the closed stream\'s slot released');
    const admitted = await openStream(a);
    streams.push(admitted);
    await eventually(async () => (await slotCount(databaseUrl)) === 3, 10_000, 'the new stream counted');
    expect(admitted.code).toBe(0);

    // B dies with its slot: once its lease lapses, A admits the user's stream again.
    await cluster.kill(b);
    const after = await eventually(async () => {
      const stream = await openStream(a);
      streams.push(stream);
      await eventually(async () => stream.code !== 0 || (await slotCount(databaseUrl)) >= 3, 10_000, 'the stream admitted or refused');
      return stream.code === 0 ? stream : undefined;
    }, 20_000, 'a stream admitted after B died');
    expect(after.code).toBe(0);
  }, 120_000);
});
