/** `GET /api/v1/emulators` and `GET /api/v1/emulators/{id}`: the inventory, read from the store. */
import { Type } from '@sinclair/typebox';
import { InstanceStateSchema, SettingsSchema } from '../../protocol/index.js';
import { IdParams, PageOf, PageQuery, errorResponses, notFound } from '../http/index.js';
import type { App, ServerUnit } from '../http/index.js';
import type { Store } from '../store/index.js';
import { getEmulator, listEmulators } from './queries.js';

export const EmulatorSchema = Type.Object({
  id: Type.String(),
  workstationId: Type.String(),
  workstationName: Type.Optional(Type.String()),
  index: Type.Integer(),
  name: Type.String(),
  state: InstanceStateSchema,
  booted: Type.Boolean(),
  settings: Type.Union([SettingsSchema, Type.Null()], { description: 'null when the agent could not read the config (see problem)' }),
  problem: Type.Union([Type.String(), Type.Null()], { description: 'what the agent could not read about the instance' }),
  pids: Type.Union([Type.Object({ player: Type.Integer(), vbox: Type.Integer() }), Type.Null()]),
  adbSerial: Type.String(),
  observedAt: Type.String(),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});

const ListQuery = Type.Object({
  ...PageQuery,
  workstation: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'a workstation id or name' })),
  state: Type.Optional(InstanceStateSchema),
  q: Type.Optional(Type.String({ maxLength: 256, pattern: '^[^\\u0000]*$', description: 'a substring of the name' })),
  tag: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: "a tag of the emulator's workstation" })),
});

export function emulatorsUnit(store: Store): ServerUnit {
  return { name: 'emulators', routes: (api) => registerEmulatorRoutes(api, store) };
}

export function registerEmulatorRoutes(api: App, store: Store): void {
  const tags = ['emulators'];
  api.get(
    '/emulators',
    {
      config: { auth: 'viewer' },
      schema: {
        tags,
        summary: 'List emulators, filtered and paged',
        querystring: ListQuery,
        response: { 200: PageOf(EmulatorSchema), ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => {
      const { limit, cursor, ...filter } = request.query;
      return listEmulators(store.reader, filter, { limit, cursor });
    },
  );

  api.get(
    '/emulators/:id',
    {
      config: { auth: 'viewer' },
      schema: {
        tags,
        summary: 'One emulator with every setting of its config',
        params: IdParams,
        response: { 200: EmulatorSchema, ...errorResponses(401, 403, 404) },
      },
    },
    async (request) => {
      const emulator = await getEmulator(store.reader, request.params.id);
      if (!emulator) throw notFound('emulator');
      return emulator;
    },
  );
}
