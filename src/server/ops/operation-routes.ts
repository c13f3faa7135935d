/** Operations: listed (newest first by default), read, cancelled, retried. */
import { IdParams, PageOf, errorResponses, notFound } from '../http/index.js';
import type { App } from '../http/index.js';
import { OperationSchema, OperationsQuery } from './route-schemas.js';
import { httpStateError, tags } from './route-support.js';
import type { OpsRouteDeps } from './route-support.js';

export function registerOperationRoutes(api: App, deps: OpsRouteDeps): void {
  const { service } = deps;

  api.get(
    '/operations',
    {
      config: { auth: 'viewer' },
      schema: { tags, summary: 'Operations, newest first (order=asc for oldest first)', querystring: OperationsQuery, response: { 200: PageOf(OperationSchema), ...errorResponses(400, 401) } },
    },
    async (request) => {
      const { limit, cursor, order, workstation, ...filter } = request.query;
      const workstationId = workstation === undefined ? undefined : await deps.fleet.workstationId(workstation);
      // A workstation that does not exist has no operations.
      if (workstation !== undefined && workstationId === undefined) return { items: [], nextCursor: null, total: 0 };
      return service.listOperations({ ...filter, workstation: workstationId }, { limit, cursor }, order ?? 'desc');
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
          throw httpStateError(error, 'operation');
        }
      },
    );
  }
}
