/** Batches: one operation per target emulator; listed, read, cancelled as a whole, retried. */
import { HttpError, IdParams, PageOf, badRequest, errorResponses, notFound } from '../http/index.js';
import type { App } from '../http/index.js';
import type { EmulatorsTable } from '../fleet/index.js';
import { Accepted, BATCH_PARAM_CHECKS, BatchBody, BatchPageQuery, BatchSchema, BatchesQuery, IdempotencyHeaders, MAX_BATCH_TARGETS } from './route-schemas.js';
import type { BatchBodyType } from './route-schemas.js';
import { httpStateError, submitter, tags, targetOf } from './route-support.js';
import type { OpsRouteDeps } from './route-support.js';

const FILTER_PAGE = 1000;

export function registerBatchRoutes(api: App, deps: OpsRouteDeps): void {
  const { service } = deps;
  const submit = submitter(service);

  api.post(
    '/batches',
    {
      config: { auth: 'operator' },
      schema: { tags, summary: 'One operation per target emulator', headers: IdempotencyHeaders, body: BatchBody, response: { 202: Accepted, ...errorResponses(400, 401, 403, 404, 409, 429) } },
    },
    async (request, reply) =>
      submit(request, reply, { batch: request.body }, async (requester) => {
        const body = request.body;
        const params = body.params ?? {};
        const check = BATCH_PARAM_CHECKS[body.action];
        if (!check.Check(params)) {
          const details = [...check.Errors(params)].slice(0, 10).map((issue) => ({ path: `/params${issue.path}`, message: issue.message }));
          const [first] = details;
          throw badRequest(`params do not fit the ${body.action} action${first ? ` (${first.path}: ${first.message})` : ''}`, details);
        }
        const targets = await resolveTargets(deps, body);
        const operations = targets.map((emulator) => ({ action: body.action, ...targetOf(emulator), params, offlineGraceMs: body.offlineGraceMs }));
        const batch = await service.submitBatch(requester, { action: body.action, params, target: body.target }, operations);
        return { kind: 'batch', batch };
      }),
  );

  api.get(
    '/batches',
    {
      config: { auth: 'viewer' },
      schema: { tags, summary: 'Batches, newest first (order=asc for oldest first)', querystring: BatchesQuery, response: { 200: PageOf(BatchSchema), ...errorResponses(400, 401) } },
    },
    async (request) => {
      const { limit, cursor, order, ...filter } = request.query;
      return service.listBatches(filter, { limit, cursor }, order ?? 'desc');
    },
  );

  api.get(
    '/batches/:id',
    {
      config: { auth: 'viewer' },
      schema: { tags, summary: 'Counts and one page of children', params: IdParams, querystring: BatchPageQuery, response: { 200: BatchSchema, ...errorResponses(400, 401, 404) } },
    },
    async (request) => {
      const batch = await service.getBatch(request.params.id, request.query);
      if (!batch) throw notFound('batch');
      return batch;
    },
  );

  const verbs = {
    cancel: 'Cancel the rest: queued children are cancelled, running ones asked to stop',
    retry: 'Queue the failed children again (succeeded and cancelled ones stay as they are)',
  } as const;
  for (const verb of ['cancel', 'retry'] as const) {
    api.post(
      `/batches/:id/${verb}`,
      { config: { auth: 'operator' }, schema: { tags, summary: verbs[verb], params: IdParams, response: { 202: BatchSchema, ...errorResponses(401, 403, 404, 409) } } },
      async (request, reply) => {
        try {
          const batch = verb === 'cancel' ? await service.cancelBatch(request.params.id) : await service.retryBatch(request.params.id);
          return await reply.status(202).send(batch);
        } catch (error) {
          throw httpStateError(error, 'batch');
        }
      },
    );
  }
}

/** The batch's targets, resolved now: later changes of the fleet do not change the batch. */
async function resolveTargets(deps: OpsRouteDeps, body: BatchBodyType): Promise<EmulatorsTable[]> {
  if ('ids' in body.target) {
    const ids = [...new Set(body.target.ids)];
    const rows = await emulatorsOf(deps, ids);
    const found = new Set(rows.map((row) => row.id));
    const missing = ids.filter((id) => !found.has(id));
    if (missing.length > 0) throw new HttpError(404, 'not_found', `${missing.length} target emulators do not exist`, { missing: missing.slice(0, 100) });
    return rows;
  }
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await deps.fleet.matching(body.target.filter, { limit: FILTER_PAGE, cursor });
    if (page.total > MAX_BATCH_TARGETS) throw badRequest(`the filter matches ${page.total} emulators; at most ${MAX_BATCH_TARGETS} per batch`);
    ids.push(...page.items);
    cursor = page.nextCursor ?? undefined;
    await yieldToLoop();
  } while (cursor !== undefined);
  return emulatorsOf(deps, ids);
}

/**
 * The emulators of up to 10,000 ids, a page at a time with the event loop let run between
 * pages (SQLite answers synchronously, so one long read would hold every other request).
 */
async function emulatorsOf(deps: OpsRouteDeps, ids: readonly string[]): Promise<EmulatorsTable[]> {
  const rows: EmulatorsTable[] = [];
  for (let start = 0; start < ids.length; start += FILTER_PAGE) {
    rows.push(...(await deps.fleet.emulators(ids.slice(start, start + FILTER_PAGE))));
    await yieldToLoop();
  }
  return rows;
}

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
