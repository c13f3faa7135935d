import { Type } from '@sinclair/typebox';
import { IdParams, Name, PageOf, PageQuery, errorResponses } from '../http/schemas.js';
import type { ServerUnit } from '../http/index.js';
import type { Workstations } from './service.js';
import { REDACTED, changesBetween } from '../auth/index.js';

const Tag = Name(64);

export const LimitsSchema = Type.Object(
  {
    maxConcurrentBoots: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    launchIntervalMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 3_600_000 })),
    maxInstances: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000 })),
  },
  { additionalProperties: false },
);

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

/** Extra properties are allowed so that other units can add what they know (counts, breaker). */
export const WorkstationSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    tags: Type.Array(Type.String()),
    limits: LimitsSchema,
    status: Type.Union([Type.Literal('online'), Type.Literal('offline'), Type.Literal('degraded')]),
    statusReason: Nullable(Type.String({ description: 'why it is degraded, e.g. install_dir_unreadable, list2_failing, disk_low, adb_conflict' })),
    statusMessage: Nullable(Type.String()),
    lastSeenAt: Nullable(Type.String()),
    hostname: Nullable(Type.String()),
    os: Nullable(Type.String()),
    agentVersion: Nullable(Type.String()),
    ldplayer: Nullable(Type.Object({ path: Nullable(Type.String()), version: Nullable(Type.String()) })),
    metrics: Type.Unknown(),
    createdAt: Type.String(),
    updatedAt: Type.String(),
  },
  { additionalProperties: true },
);

const WorkstationInput = {
  name: Name(64),
  tags: Type.Optional(Type.Array(Tag, { maxItems: 50 })),
  limits: Type.Optional(LimitsSchema),
};

/** `/workstations`: registering workstations and their agents' enrollment tokens. */
export function workstationsUnit(workstations: Workstations): ServerUnit {
  const tags = ['workstations'];
  return {
    name: 'workstations',
    routes(api) {
      api.get(
        '/workstations',
        {
          config: { auth: 'viewer' },
          schema: {
            tags,
            querystring: Type.Object({
              ...PageQuery,
              tag: Type.Optional(Tag),
              status: Type.Optional(Type.Union([Type.Literal('online'), Type.Literal('offline'), Type.Literal('degraded')])),
            }),
            response: { 200: PageOf(WorkstationSchema), ...errorResponses(400, 401) },
          },
        },
        async (request) => {
          const { limit, cursor, ...filter } = request.query;
          return workstations.list({ limit, cursor }, filter);
        },
      );
      api.get(
        '/workstations/:id',
        {
          config: { auth: 'viewer' },
          schema: { tags, params: IdParams, response: { 200: WorkstationSchema, ...errorResponses(401, 404) } },
        },
        async (request) => workstations.get(request.params.id),
      );
      api.post(
        '/workstations',
        {
          config: { auth: 'admin' },
          schema: {
            tags,
            summary: 'Register a workstation; the enrollment token is in this reply only',
            body: Type.Object(WorkstationInput),
            response: {
              201: Type.Object({ workstation: WorkstationSchema, enrollmentToken: Type.String() }),
              ...errorResponses(400, 401, 403, 409),
            },
          },
        },
        async (request, reply) => {
          request.audit({ target: { type: 'workstation', id: null, name: request.body.name } });
          const created = await workstations.create(request.body);
          request.audit({ target: { type: 'workstation', id: created.workstation.id, name: created.workstation.name } });
          return reply.status(201).send(created);
        },
      );
      api.patch(
        '/workstations/:id',
        {
          config: { auth: 'admin' },
          schema: {
            tags,
            params: IdParams,
            body: Type.Partial(Type.Object(WorkstationInput), { minProperties: 1 }),
            response: { 200: WorkstationSchema, ...errorResponses(400, 401, 403, 404, 409) },
          },
        },
        async (request) => {
          const before = await workstations.get(request.params.id);
          request.audit({ target: { type: 'workstation', id: before.id, name: before.name } });
          const after = await workstations.update(request.params.id, request.body);
          request.audit({ changes: changesBetween(before, after, request.body) });
          return after;
        },
      );
      api.delete(
        '/workstations/:id',
        {
          config: { auth: 'admin' },
          schema: { tags, params: IdParams, response: { 204: Type.Null(), ...errorResponses(401, 403, 404) } },
        },
        async (request, reply) => {
          const workstation = await workstations.get(request.params.id);
          request.audit({ target: { type: 'workstation', id: workstation.id, name: workstation.name }, changes: null });
          await workstations.delete(request.params.id);
          return reply.status(204).send(null);
        },
      );
      api.post(
        '/workstations/:id/enrollment-token',
        {
          config: { auth: 'admin' },
          schema: {
            tags,
            summary: 'Replace the enrollment token; the old one stops working',
            params: IdParams,
            body: Type.Object({}),
            response: { 200: Type.Object({ enrollmentToken: Type.String() }), ...errorResponses(401, 403, 404) },
          },
        },
        async (request) => {
          const workstation = await workstations.get(request.params.id);
          request.audit({ target: { type: 'workstation', id: workstation.id, name: workstation.name }, changes: { enrollmentToken: { to: REDACTED } } });
          return { enrollmentToken: await workstations.rotateEnrollmentToken(request.params.id) };
        },
      );
    },
  };
}
