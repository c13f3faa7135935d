/**
 * Every emulator action (`202` with the operation or batch), batches, operations, and the
 * synchronous screenshot. Inputs are checked by the route schemas, so a bad value is a 400
 * before anything is queued.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import multipart from '@fastify/multipart';
import { Type } from '@sinclair/typebox';
import type { Static, TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { listEmulators } from '../fleet/index.js';
import type { EmulatorsTable } from '../fleet/index.js';
import { HttpError, IdParams, PageQuery, badRequest, conflict, errorResponses, notFound } from '../http/index.js';
import type { App, TypeBoxTypeProvider } from '../http/index.js';
import { ActionFailure } from './errors.js';
import type { OperationEngine } from './engine.js';
import type { Placement } from './placement.js';
import { IdempotencyConflictError, OperationStateError, requestDigest } from './service.js';
import type { NewOperation, OperationService, Requester, Stored } from './service.js';
import { InstanceNameSchema, PackageNameSchema, SettingsInputSchema, ShellCommandSchema } from './settings-schema.js';
import { ACTIONS, BATCH_ACTIONS, OPERATION_STATUSES } from './types.js';
import type { Action, Batch, BatchAction, Operation } from './types.js';

export interface OpsRouteDeps {
  readonly service: OperationService;
  readonly engine: OperationEngine;
  readonly placement: Placement;
  readonly uploadDir: string;
  readonly uploadMaxBytes: number;
}

const tags = ['operations'];
const MAX_BATCH_TARGETS = 10_000;
const MAX_CREATE_COUNT = 500;
const FILTER_PAGE = 1000;

const ActionErrorOut = Type.Object({ category: Type.String(), code: Type.String(), message: Type.String() });
export const OperationSchema = Type.Object(
  {
    id: Type.String(),
    action: Type.String(),
    status: Type.Union(OPERATION_STATUSES.map((status) => Type.Literal(status))),
    emulatorId: Type.Optional(Type.String()),
    workstationId: Type.String(),
    batchId: Type.Optional(Type.String()),
    params: Type.Record(Type.String(), Type.Unknown()),
    attempts: Type.Integer(),
    result: Type.Optional(Type.Unknown()),
    error: Type.Optional(ActionErrorOut),
    createdBy: Type.String(),
    createdAt: Type.String(),
    startedAt: Type.Optional(Type.String()),
    finishedAt: Type.Optional(Type.String()),
    progress: Type.Optional(Type.String()),
    cancelRequested: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: true },
);
const Counts = Type.Object({
  queued: Type.Integer(),
  running: Type.Integer(),
  succeeded: Type.Integer(),
  failed: Type.Integer(),
  cancelled: Type.Integer(),
});
export const BatchSchema = Type.Object(
  {
    id: Type.String(),
    action: Type.String(),
    params: Type.Record(Type.String(), Type.Unknown()),
    target: Type.Unknown(),
    total: Type.Integer(),
    counts: Counts,
    createdBy: Type.String(),
    createdAt: Type.String(),
    finishedAt: Type.Optional(Type.String()),
    operations: Type.Optional(Type.Array(OperationSchema)),
    nextCursor: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  },
  { additionalProperties: true },
);
const Accepted = Type.Union([OperationSchema, BatchSchema]);

const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 200, pattern: '^[\\x21-\\x7e]+$' })),
});

const CreateBody = Type.Object(
  {
    name: InstanceNameSchema,
    count: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_CREATE_COUNT })),
    settings: Type.Optional(SettingsInputSchema),
    cloneFrom: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    workstationId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  },
  { additionalProperties: false },
);
const PatchBody = Type.Object(
  {
    name: Type.Optional(InstanceNameSchema),
    settings: Type.Optional(SettingsInputSchema),
    restart: Type.Optional(Type.Boolean({ description: 'stop, modify and start again when the emulator is running' })),
  },
  { additionalProperties: false, minProperties: 1 },
);
const PackageParams = Type.Object({ id: IdParams.properties.id, package: PackageNameSchema });

/** The params each batch action takes (the same as its single-emulator route). */
const BATCH_PARAMS: Readonly<Record<BatchAction, TSchema>> = {
  start: Type.Object({}, { additionalProperties: false }),
  stop: Type.Object({}, { additionalProperties: false }),
  restart: Type.Object({}, { additionalProperties: false }),
  delete: Type.Object({}, { additionalProperties: false }),
  modify: Type.Object({ settings: SettingsInputSchema, restart: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
  rename: Type.Object({ name: InstanceNameSchema }, { additionalProperties: false }),
  installApp: Type.Object({ packageName: PackageNameSchema }, { additionalProperties: false }),
  uninstallApp: Type.Object({ packageName: PackageNameSchema }, { additionalProperties: false }),
  launchApp: Type.Object({ packageName: PackageNameSchema }, { additionalProperties: false }),
  killApp: Type.Object({ packageName: PackageNameSchema }, { additionalProperties: false }),
  shell: Type.Object({ command: ShellCommandSchema }, { additionalProperties: false }),
};
const BATCH_PARAM_CHECKS = Object.fromEntries(
  Object.entries(BATCH_PARAMS).map(([action, schema]) => [action, TypeCompiler.Compile(schema)]),
) as Record<BatchAction, ReturnType<typeof TypeCompiler.Compile>>;

const BatchBody = Type.Object(
  {
    action: Type.Union(BATCH_ACTIONS.map((action) => Type.Literal(action))),
    target: Type.Union([
      Type.Object({ ids: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: MAX_BATCH_TARGETS }) }, { additionalProperties: false }),
      Type.Object(
        {
          filter: Type.Object(
            {
              workstation: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
              state: Type.Optional(Type.Union([Type.Literal('stopped'), Type.Literal('starting'), Type.Literal('running')])),
              q: Type.Optional(Type.String({ maxLength: 256, pattern: '^[^\\u0000]*$' })),
            },
            { additionalProperties: false },
          ),
        },
        { additionalProperties: false },
      ),
    ]),
    params: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
);
type BatchBodyType = Static<typeof BatchBody>;

const OperationsQuery = Type.Object({
  ...PageQuery,
  status: Type.Optional(Type.Union(OPERATION_STATUSES.map((status) => Type.Literal(status)))),
  batch: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  emulator: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  workstation: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  action: Type.Optional(Type.Union(ACTIONS.map((action) => Type.Literal(action)))),
});

export function registerOpsRoutes(api: App, deps: OpsRouteDeps): void {
  const { service } = deps;
  const accepted = { 202: Accepted, ...errorResponses(400, 401, 403, 404, 409) };

  /** Replays a stored reply for the key, or queues what `build` makes and replies 202. */
  async function submit(
    request: FastifyRequest,
    reply: FastifyReply,
    digestOf: unknown,
    build: (requester: Requester) => Promise<Stored>,
  ): Promise<Operation | Batch> {
    const requester = requesterOf(request, digestOf);
    try {
      const stored = (await service.replay(requester)) ?? (await build(requester));
      void reply.status(202);
      return stored.kind === 'operation' ? stored.operation : stored.batch;
    } catch (error) {
      if (error instanceof IdempotencyConflictError) throw conflict(error.message);
      throw error;
    }
  }

  async function emulatorOr404(id: string): Promise<EmulatorsTable> {
    const row = await service.findEmulator(id);
    if (!row) throw notFound('emulator');
    return row;
  }

  /** One operation on one emulator, for the simple action routes. */
  function single(request: FastifyRequest, reply: FastifyReply, action: Action, id: string, params: Record<string, unknown>) {
    return submit(request, reply, { action, id, params }, async (requester) => {
      const emulator = await emulatorOr404(id);
      const operation = await service.submitOperation(requester, { action, ...targetOf(emulator), params });
      return { kind: 'operation', operation };
    });
  }

  api.post(
    '/emulators',
    {
      config: { auth: 'operator' },
      schema: { tags, summary: 'Create emulators (count > 1 makes a batch), or clone one', headers: IdempotencyHeaders, body: CreateBody, response: accepted },
    },
    async (request, reply) =>
      submit(request, reply, { create: request.body }, async (requester) => {
        const body = request.body;
        const operations = await planCreates(deps, body);
        if (operations.length === 1 && (body.count ?? 1) === 1) {
          const [only] = operations as [NewOperation];
          return { kind: 'operation', operation: await service.submitOperation(requester, only) };
        }
        const action = body.cloneFrom === undefined ? 'create' : 'clone';
        const batch = await service.submitBatch(requester, { action, params: { ...body }, target: { create: body.count } }, operations);
        return { kind: 'batch', batch };
      }),
  );

  api.patch(
    '/emulators/:id',
    {
      config: { auth: 'operator' },
      schema: { tags, summary: 'Rename and/or modify settings', params: IdParams, headers: IdempotencyHeaders, body: PatchBody, response: accepted },
    },
    async (request, reply) => {
      const { name, settings, restart } = request.body;
      if (name === undefined && settings === undefined) throw badRequest('give a name or settings to change');
      const action: Action = settings === undefined ? 'rename' : 'modify';
      const params: Record<string, unknown> = { ...(name === undefined ? {} : { name }), ...(settings === undefined ? {} : { settings }) };
      if (restart !== undefined && action === 'modify') params.restart = restart;
      return single(request, reply, action, request.params.id, params);
    },
  );

  api.delete(
    '/emulators/:id',
    { config: { auth: 'operator' }, schema: { tags, summary: 'Delete (a running emulator is stopped first)', params: IdParams, headers: IdempotencyHeaders, response: accepted } },
    async (request, reply) => single(request, reply, 'delete', request.params.id, {}),
  );

  for (const action of ['start', 'stop', 'restart'] as const) {
    api.post(
      `/emulators/:id/${action}`,
      { config: { auth: 'operator' }, schema: { tags, summary: `${action} an emulator`, params: IdParams, headers: IdempotencyHeaders, response: accepted } },
      async (request, reply) => single(request, reply, action, request.params.id, {}),
    );
  }

  api.delete(
    '/emulators/:id/apps/:package',
    { config: { auth: 'operator' }, schema: { tags, summary: 'Uninstall an app', params: PackageParams, headers: IdempotencyHeaders, response: accepted } },
    async (request, reply) => single(request, reply, 'uninstallApp', request.params.id, { packageName: request.params.package }),
  );
  api.post(
    '/emulators/:id/apps/:package/launch',
    { config: { auth: 'operator' }, schema: { tags, summary: 'Launch an app', params: PackageParams, headers: IdempotencyHeaders, response: accepted } },
    async (request, reply) => single(request, reply, 'launchApp', request.params.id, { packageName: request.params.package }),
  );
  api.post(
    '/emulators/:id/apps/:package/kill',
    { config: { auth: 'operator' }, schema: { tags, summary: 'Force-stop an app', params: PackageParams, headers: IdempotencyHeaders, response: accepted } },
    async (request, reply) => single(request, reply, 'killApp', request.params.id, { packageName: request.params.package }),
  );
  api.post(
    '/emulators/:id/shell',
    {
      config: { auth: 'operator' },
      schema: {
        tags,
        summary: 'Run an adb shell command; the output is in the result',
        params: IdParams,
        headers: IdempotencyHeaders,
        body: Type.Object({ command: ShellCommandSchema }, { additionalProperties: false }),
        response: accepted,
      },
    },
    async (request, reply) => single(request, reply, 'shell', request.params.id, { command: request.body.command }),
  );

  registerAppInstallRoute(api, deps, submit, emulatorOr404);

  api.get(
    '/emulators/:id/screenshot',
    {
      config: { auth: 'viewer' },
      schema: {
        tags,
        summary: 'A PNG of the screen, now',
        params: IdParams,
        response: { 200: Type.Unsafe<Buffer>({ type: 'string', format: 'binary' }), ...errorResponses(401, 403, 404, 409, 502, 503, 504) },
      },
    },
    async (request, reply) => {
      const emulator = await emulatorOr404(request.params.id);
      if (!deps.engine.isOnline(emulator.workstation_id)) {
        throw new HttpError(503, 'workstation_offline', 'the agent of this emulator\'s workstation is not connected');
      }
      if (emulator.state === 'stopped') throw new HttpError(409, 'emulator_stopped', 'the emulator is stopped');
      try {
        const { pngBase64 } = await deps.engine.callNow(emulator.workstation_id, 'screenshot', { index: emulator.idx });
        return await reply.type('image/png').send(Buffer.from(pngBase64, 'base64'));
      } catch (error) {
        throw httpErrorOf(error);
      }
    },
  );

  api.post(
    '/batches',
    {
      config: { auth: 'operator' },
      schema: { tags, summary: 'One operation per target emulator', headers: IdempotencyHeaders, body: BatchBody, response: accepted },
    },
    async (request, reply) =>
      submit(request, reply, { batch: request.body }, async (requester) => {
        const body = request.body;
        const params = body.params ?? {};
        const check = BATCH_PARAM_CHECKS[body.action];
        if (!check.Check(params)) {
          const details = [...check.Errors(params)].slice(0, 10).map((issue) => ({ path: `/params${issue.path}`, message: issue.message }));
          throw badRequest(`params do not fit the ${body.action} action`, details);
        }
        const targets = await resolveTargets(deps, body);
        const operations = targets.map((emulator) => ({ action: body.action, ...targetOf(emulator), params }));
        const batch = await service.submitBatch(requester, { action: body.action, params, target: body.target }, operations);
        return { kind: 'batch', batch };
      }),
  );

  api.get(
    '/batches/:id',
    {
      config: { auth: 'viewer' },
      schema: { tags, summary: 'Counts and one page of children', params: IdParams, querystring: Type.Object(PageQuery), response: { 200: BatchSchema, ...errorResponses(400, 401, 404) } },
    },
    async (request) => {
      const batch = await service.getBatch(request.params.id, request.query);
      if (!batch) throw notFound('batch');
      return batch;
    },
  );

  api.get(
    '/operations',
    {
      config: { auth: 'viewer' },
      schema: {
        tags,
        querystring: OperationsQuery,
        response: { 200: Type.Object({ items: Type.Array(OperationSchema), nextCursor: Type.Union([Type.String(), Type.Null()]), total: Type.Integer() }), ...errorResponses(400, 401) },
      },
    },
    async (request) => {
      const { limit, cursor, ...filter } = request.query;
      return service.listOperations(filter, { limit, cursor });
    },
  );

  api.get(
    '/operations/:id',
    { config: { auth: 'viewer' }, schema: { tags, params: IdParams, response: { 200: OperationSchema, ...errorResponses(401, 404) } } },
    async (request) => {
      const operation = await service.getOperation(request.params.id);
      if (!operation) throw notFound('operation');
      return operation;
    },
  );

  for (const verb of ['cancel', 'retry'] as const) {
    api.post(
      `/operations/:id/${verb}`,
      { config: { auth: 'operator' }, schema: { tags, params: IdParams, response: { 200: OperationSchema, ...errorResponses(401, 403, 404, 409) } } },
      async (request) => {
        try {
          return verb === 'cancel' ? await service.cancel(request.params.id) : await service.retry(request.params.id);
        } catch (error) {
          if (error instanceof OperationStateError) {
            throw error.code === 'not_found' ? notFound('operation') : new HttpError(409, error.code, error.message);
          }
          throw error;
        }
      },
    );
  }
}

type Submit = (request: FastifyRequest, reply: FastifyReply, digestOf: unknown, build: (requester: Requester) => Promise<Stored>) => Promise<Operation | Batch>;

/**
 * `POST /emulators/{id}/apps`: a multipart APK upload, streamed to the data directory and sent
 * to the agent when the operation runs; or JSON `{packageName}` from the LD Store. Multipart is
 * registered in a scope of its own so no other route parses it.
 */
function registerAppInstallRoute(api: App, deps: OpsRouteDeps, submit: Submit, emulatorOr404: (id: string) => Promise<EmulatorsTable>): void {
  void api.register(async (plain) => {
    const scope = plain.withTypeProvider<TypeBoxTypeProvider>();
    await scope.register(multipart, { limits: { fileSize: deps.uploadMaxBytes, files: 1, fields: 10 } });
    scope.post(
      '/emulators/:id/apps',
      {
        config: { auth: 'operator' },
        schema: {
          tags,
          summary: 'Install an app: multipart APK upload (field "file") or JSON {packageName}',
          params: IdParams,
          headers: IdempotencyHeaders,
          response: { 202: Accepted, ...errorResponses(400, 401, 403, 404, 409, 413) },
        },
      },
      async (request, reply) => {
        const emulator = await emulatorOr404(request.params.id);
        if (!request.isMultipart()) {
          const body = request.body as { packageName?: unknown } | undefined;
          if (typeof body?.packageName !== 'string' || !PACKAGE_PATTERN.test(body.packageName)) {
            throw badRequest('send an APK as multipart field "file", or JSON {"packageName": "com.example.app"}');
          }
          const params = { packageName: body.packageName };
          return submit(request, reply, { install: params, id: emulator.id }, async (requester) => ({
            kind: 'operation',
            operation: await deps.service.submitOperation(requester, { action: 'installApp', ...targetOf(emulator), params }),
          }));
        }
        const upload = await receiveUpload(request, deps);
        try {
          return await submit(request, reply, { install: upload.sha256, id: emulator.id }, async (requester) => ({
            kind: 'operation',
            operation: await deps.service.submitOperation(requester, {
              action: 'installApp',
              ...targetOf(emulator),
              params: { transferId: upload.transferId, fileName: upload.fileName, bytes: upload.bytes, sha256: upload.sha256 },
            }),
          }));
        } finally {
          // A replayed or refused request did not queue this copy of the file.
          if (!(await deps.service.transferQueued(upload.transferId))) await rm(upload.path, { force: true });
        }
      },
    );
  });
}

const PACKAGE_PATTERN = new RegExp(PackageNameSchema.pattern ?? '.');

interface Upload {
  transferId: string;
  path: string;
  fileName: string;
  bytes: number;
  sha256: string;
}

/** Streams the `file` part to `<uploadDir>/<transferId>.apk`, hashing it on the way; 413 past the limit. */
async function receiveUpload(request: FastifyRequest, deps: OpsRouteDeps): Promise<Upload> {
  const part = await request.file();
  if (!part || part.fieldname !== 'file') throw badRequest('the multipart body needs one file in the field "file"');
  await mkdir(deps.uploadDir, { recursive: true, mode: 0o700 });
  const transferId = randomUUID();
  const path = join(deps.uploadDir, `${transferId}.apk`);
  const hash = createHash('sha256');
  let bytes = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  try {
    await pipeline(part.file, meter, createWriteStream(path, { mode: 0o600 }));
  } catch (error) {
    await rm(path, { force: true });
    throw error;
  }
  if (part.file.truncated) {
    await rm(path, { force: true });
    throw new HttpError(413, 'payload_too_large', `the APK is larger than the limit of ${deps.uploadMaxBytes} bytes`);
  }
  if (bytes === 0) {
    await rm(path, { force: true });
    throw badRequest('the uploaded file is empty');
  }
  return { transferId, path, fileName: part.filename.slice(0, 256), bytes, sha256: hash.digest('hex') };
}

/** Creates: the named source (clone) or a placed workstation, and N names `name-1…name-N`. */
async function planCreates(deps: OpsRouteDeps, body: Static<typeof CreateBody>): Promise<NewOperation[]> {
  const count = body.count ?? 1;
  const names = count === 1 ? [body.name] : Array.from({ length: count }, (_, i) => `${body.name}-${i + 1}`);
  if (body.cloneFrom !== undefined) {
    const source = await deps.service.findEmulator(body.cloneFrom);
    if (!source) throw notFound('clone source emulator');
    if (body.workstationId !== undefined && body.workstationId !== source.workstation_id) {
      throw new HttpError(409, 'conflict', 'a clone is made on its source\'s workstation');
    }
    if (body.settings !== undefined) throw badRequest('settings cannot be given with cloneFrom; modify the clone afterwards');
    return names.map((name) => ({ action: 'clone', workstationId: source.workstation_id, params: { name, cloneFrom: source.id } }));
  }
  const workstations = await deps.placement.place(names.length, body.workstationId);
  return names.map((name, i) => ({
    action: 'create',
    workstationId: workstations[i] ?? '',
    params: body.settings === undefined ? { name } : { name, settings: body.settings },
  }));
}

/** The batch's targets, resolved now: later changes of the fleet do not change the batch. */
async function resolveTargets(deps: OpsRouteDeps, body: BatchBodyType): Promise<EmulatorsTable[]> {
  if ('ids' in body.target) {
    const ids = [...new Set(body.target.ids)];
    const rows = await deps.service.findEmulators(ids);
    const found = new Set(rows.map((row) => row.id));
    const missing = ids.filter((id) => !found.has(id));
    if (missing.length > 0) throw new HttpError(404, 'not_found', `${missing.length} target emulators do not exist`, { missing: missing.slice(0, 100) });
    return rows;
  }
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await listEmulators(deps.service.db, body.target.filter, { limit: FILTER_PAGE, cursor });
    if (page.total > MAX_BATCH_TARGETS) throw badRequest(`the filter matches ${page.total} emulators; at most ${MAX_BATCH_TARGETS} per batch`);
    ids.push(...page.items.map((emulator) => emulator.id));
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return deps.service.findEmulators(ids);
}

/** Where an operation on `emulator` runs, and which instance it is for. */
function targetOf(emulator: EmulatorsTable): Pick<NewOperation, 'workstationId' | 'emulatorId' | 'target'> {
  return { workstationId: emulator.workstation_id, emulatorId: emulator.id, target: { index: emulator.idx, generation: emulator.generation } };
}

function requesterOf(request: FastifyRequest, digestOf: unknown): Requester {
  const principal = request.principal;
  if (!principal) throw new HttpError(401, 'unauthorized', 'authentication required');
  const key = request.headers['idempotency-key'];
  return {
    principal: principal.userId,
    name: principal.username,
    idempotencyKey: typeof key === 'string' ? key : undefined,
    requestHash: requestDigest({ route: request.routeOptions.url, method: request.method, request: digestOf }),
  };
}

/** A synchronous call's failure as an HTTP error. */
function httpErrorOf(error: unknown): unknown {
  if (!(error instanceof ActionFailure)) return error;
  const status = { transport: 503, circuit_open: 503, timeout: 504, conflict: 409, ldconsole: 502 }[error.category];
  return new HttpError(status, error.category === 'transport' ? 'workstation_offline' : error.code, error.message, error.toJSON());
}
