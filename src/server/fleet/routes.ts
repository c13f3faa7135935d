/** `GET /api/v1/emulators` and `GET /api/v1/emulators/{id}`: the inventory, read from the store. */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { InstanceStateSchema, SettingsSchema } from '../../protocol/index.js';
import type { Store } from '../store/index.js';
import { getEmulator, listEmulators } from './queries.js';

export const EmulatorSchema = Type.Object(
  {
    id: Type.String(),
    workstationId: Type.String(),
    workstationName: Type.Optional(Type.String()),
    index: Type.Integer(),
    name: Type.String(),
    state: InstanceStateSchema,
    booted: Type.Boolean(),
    settings: SettingsSchema,
    pids: Type.Union([Type.Object({ player: Type.Integer(), vbox: Type.Integer() }), Type.Null()]),
    adbSerial: Type.String(),
    observedAt: Type.String(),
    createdAt: Type.String(),
    updatedAt: Type.String(),
  },
  { $id: 'Emulator' },
);

const ListQuery = Type.Object({
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 400 })),
  workstation: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  state: Type.Optional(InstanceStateSchema),
  q: Type.Optional(Type.String({ maxLength: 256, pattern: '^[^\\u0000]*$' })),
  tag: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[^\\u0000]*$' })),
});

const ErrorReply = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String(), details: Type.Optional(Type.Unknown()) }),
});

const EmulatorPage = Type.Object({
  items: Type.Array(EmulatorSchema),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
  total: Type.Integer(),
});

export interface EmulatorRoutesOptions {
  readonly store: Store;
}

export async function emulatorRoutes(app: FastifyInstance, options: EmulatorRoutesOptions): Promise<void> {
  const db = options.store.db;

  app.get<{ Querystring: Static<typeof ListQuery> }>(
    '/api/v1/emulators',
    {
      config: { auth: 'viewer' },
      schema: {
        tags: ['emulators'],
        summary: 'List emulators, filtered and paged',
        querystring: ListQuery,
        response: { 200: EmulatorPage, 400: ErrorReply, 401: ErrorReply, 403: ErrorReply },
      },
    },
    async (request) => {
      const { limit, cursor, ...filter } = request.query;
      return listEmulators(db, filter, { limit, cursor });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/emulators/:id',
    {
      config: { auth: 'viewer' },
      schema: {
        tags: ['emulators'],
        summary: 'One emulator with every setting of its config',
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }),
        response: { 200: EmulatorSchema, 401: ErrorReply, 403: ErrorReply, 404: ErrorReply },
      },
    },
    async (request, reply) => {
      const emulator = await getEmulator(db, request.params.id);
      if (emulator) return emulator;
      return reply
        .status(404)
        .type('application/json; charset=utf-8')
        .send({ error: { code: 'not_found', message: 'emulator not found' } });
    },
  );
}
