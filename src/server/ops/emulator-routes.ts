/**
 * The emulator action routes (`202` with the operation or batch), the synchronous screenshot
 * and app list. Inputs are checked by the route schemas, so a bad value is a 400 before
 * anything is queued.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { EmulatorsTable } from '../fleet/index.js';
import { HttpError, IdParams, badRequest, errorResponses, notFound } from '../http/index.js';
import type { App } from '../http/index.js';
import { registerAppInstallRoute } from './app-routes.js';
import { Accepted, ActionBody, AppsReply, CreateBody, IdempotencyHeaders, PackageParams, PatchBody, ShellBody } from './route-schemas.js';
import type { CreateBodyType } from './route-schemas.js';
import { emulatorOr404, httpErrorOf, submitter, tags, targetOf } from './route-support.js';
import type { OpsRouteDeps } from './route-support.js';
import type { NewOperation } from './service.js';
import type { Action } from './types.js';

export function registerEmulatorRoutes(api: App, deps: OpsRouteDeps): void {
  const { service } = deps;
  const submit = submitter(service);
  const accepted = { 202: Accepted, ...errorResponses(400, 401, 403, 404, 409, 429) };

  /** One operation on one emulator, for the simple action routes. */
  function single(request: FastifyRequest, reply: FastifyReply, action: Action, id: string, params: Record<string, unknown>, offlineGraceMs?: number) {
    return submit(request, reply, { action, id, params, offlineGraceMs }, async (requester) => {
      const emulator = await emulatorOr404(deps.fleet, id);
      const operation = await service.submitOperation(requester, { action, ...targetOf(emulator), params, offlineGraceMs });
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
      const { name, settings, restart, offlineGraceMs } = request.body;
      if (name === undefined && settings === undefined) throw badRequest('give a name or settings to change');
      const action: Action = settings === undefined ? 'rename' : 'modify';
      const params: Record<string, unknown> = { ...(name === undefined ? {} : { name }), ...(settings === undefined ? {} : { settings }) };
      if (restart !== undefined && action === 'modify') params.restart = restart;
      return single(request, reply, action, request.params.id, params, offlineGraceMs);
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
      { config: { auth: 'operator' }, schema: { tags, summary: `${action} an emulator`, params: IdParams, headers: IdempotencyHeaders, body: ActionBody, response: accepted } },
      async (request, reply) => single(request, reply, action, request.params.id, {}, request.body?.offlineGraceMs),
    );
  }

  api.delete(
    '/emulators/:id/apps/:package',
    { config: { auth: 'operator' }, schema: { tags, summary: 'Uninstall an app', params: PackageParams, headers: IdempotencyHeaders, response: accepted } },
    async (request, reply) => single(request, reply, 'uninstallApp', request.params.id, { packageName: request.params.package }),
  );
  for (const [verb, action, summary] of [
    ['launch', 'launchApp', 'Launch an installed app (conflict/app_not_installed otherwise)'],
    ['kill', 'killApp', 'Force-stop an installed app (conflict/app_not_installed otherwise)'],
  ] as const) {
    api.post(
      `/emulators/:id/apps/:package/${verb}`,
      { config: { auth: 'operator' }, schema: { tags, summary, params: PackageParams, headers: IdempotencyHeaders, body: ActionBody, response: accepted } },
      async (request, reply) => single(request, reply, action, request.params.id, { packageName: request.params.package }, request.body?.offlineGraceMs),
    );
  }
  api.post(
    '/emulators/:id/shell',
    {
      config: { auth: 'operator' },
      schema: { tags, summary: 'Run an adb shell command; the output is in the result', params: IdParams, headers: IdempotencyHeaders, body: ShellBody, response: accepted },
    },
    async (request, reply) => single(request, reply, 'shell', request.params.id, { command: request.body.command }, request.body.offlineGraceMs),
  );

  registerAppInstallRoute(api, deps, submit);

  api.get(
    '/emulators/:id/screenshot',
    {
      config: { auth: 'viewer' },
      schema: {
        tags,
        summary: 'A PNG of the screen, now',
        params: IdParams,
        response: { 200: Type.Unsafe<Buffer>({ type: 'string', format: 'binary' }), ...errorResponses(401, 403, 404, 409, 429, 502, 503, 504) },
      },
    },
    async (request, reply) => {
      const emulator = await liveEmulator(deps, request.params.id);
      try {
        const { pngBase64 } = await deps.engine.read(userOf(request), emulator.workstation_id, 'screenshot', { index: emulator.idx }, clientGone(reply));
        return await reply.type('image/png').send(Buffer.from(pngBase64, 'base64'));
      } catch (error) {
        throw httpErrorOf(error);
      }
    },
  );

  api.get(
    '/emulators/:id/apps',
    {
      config: { auth: 'viewer' },
      schema: {
        tags,
        summary: 'The installed packages, asked of the agent now',
        params: IdParams,
        response: { 200: AppsReply, ...errorResponses(401, 403, 404, 409, 429, 502, 503, 504) },
      },
    },
    async (request, reply) => {
      const emulator = await liveEmulator(deps, request.params.id);
      try {
        const { packages } = await deps.engine.read(userOf(request), emulator.workstation_id, 'listApps', { index: emulator.idx }, clientGone(reply));
        return { items: packages.map((packageName) => ({ packageName })) };
      } catch (error) {
        throw httpErrorOf(error);
      }
    },
  );
}

/** Whose synchronous read it is (its per-user bound). */
function userOf(request: FastifyRequest): string {
  const principal = request.principal;
  if (!principal) throw new HttpError(401, 'unauthorized', 'authentication required');
  return principal.userId;
}

/** Aborts when the client closed the connection before its reply was sent (a read waiting for a slot leaves the line). */
function clientGone(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort(new Error('the client went away'));
  });
  return controller.signal;
}

/**
 * An emulator a synchronous read can ask: 503 when its agent is connected to no replica (its
 * stored state is then stale), 409 when it is stopped.
 */
async function liveEmulator(deps: OpsRouteDeps, id: string): Promise<EmulatorsTable> {
  const emulator = await emulatorOr404(deps.fleet, id);
  if (!deps.engine.isOnline(emulator.workstation_id) && (await deps.fleet.sessionOwner(emulator.workstation_id)) === undefined) {
    throw new HttpError(503, 'workstation_offline', 'the agent of this emulator\'s workstation is not connected');
  }
  if (emulator.state === 'stopped') throw new HttpError(409, 'emulator_stopped', 'the emulator is stopped');
  return emulator;
}

/** Creates: the named source (clone) or a placed workstation, and N names `name-1…name-N`. */
async function planCreates(deps: OpsRouteDeps, body: CreateBodyType): Promise<NewOperation[]> {
  const count = body.count ?? 1;
  const names = count === 1 ? [body.name] : Array.from({ length: count }, (_, i) => `${body.name}-${i + 1}`);
  const offlineGraceMs = body.offlineGraceMs;
  const workstationId = body.workstationId === undefined ? undefined : await workstationOr404(deps, body.workstationId);
  if (body.cloneFrom !== undefined) {
    const source = await deps.fleet.emulator(body.cloneFrom);
    if (!source) throw notFound('clone source emulator');
    if (workstationId !== undefined && workstationId !== source.workstation_id) {
      throw new HttpError(409, 'conflict', 'a clone is made on its source\'s workstation');
    }
    if (body.settings !== undefined) throw badRequest('settings cannot be given with cloneFrom; modify the clone afterwards');
    return names.map((name) => ({ action: 'clone', workstationId: source.workstation_id, params: { name, cloneFrom: source.id }, offlineGraceMs }));
  }
  const workstations = await deps.placement.place(names.length, workstationId);
  return names.map((name, i) => ({
    action: 'create',
    workstationId: workstations[i] ?? '',
    params: body.settings === undefined ? { name } : { name, settings: body.settings },
    offlineGraceMs,
  }));
}

/** A workstation given by id or name, as its id. */
async function workstationOr404(deps: OpsRouteDeps, ref: string): Promise<string> {
  const id = await deps.fleet.workstationId(ref);
  if (id === undefined) throw new HttpError(404, 'not_found', `no workstation has the id or name ${JSON.stringify(ref)}`);
  return id;
}
