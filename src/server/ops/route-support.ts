/** What every ops route shares: its dependencies, idempotent submission, and error mapping. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { EmulatorsTable } from '../fleet/index.js';
import { HttpError, conflict, notFound } from '../http/index.js';
import type { OperationEngine } from './engine.js';
import { ActionFailure, ReadRefusedError } from './errors.js';
import type { Placement } from './placement.js';
import type { FleetPort } from './ports.js';
import { IdempotencyConflictError, OperationStateError, QueueLimitError, requestDigest } from './service.js';
import type { NewOperation, OperationService, Requester, Stored } from './service.js';
import type { Batch, Operation } from './types.js';
import type { Uploads } from './uploads.js';

export interface OpsRouteDeps {
  readonly service: OperationService;
  readonly engine: OperationEngine;
  readonly placement: Placement;
  readonly fleet: FleetPort;
  readonly uploads: Uploads;
  readonly uploadMaxBytes: number;
}

export const tags = ['operations'];

export type Submit = (request: FastifyRequest, reply: FastifyReply, digestOf: unknown, build: (requester: Requester) => Promise<Stored>) => Promise<Operation | Batch>;

/** Replays a stored reply for the key, or queues what `build` makes and replies 202. */
export function submitter(service: OperationService): Submit {
  return async (request, reply, digestOf, build) => {
    const requester = requesterOf(request, digestOf);
    try {
      const stored = (await service.replay(requester)) ?? (await build(requester));
      void reply.status(202);
      return stored.kind === 'operation' ? stored.operation : stored.batch;
    } catch (error) {
      if (error instanceof IdempotencyConflictError) throw conflict(error.message);
      if (error instanceof QueueLimitError) {
        throw new HttpError(429, 'too_many_queued_operations', error.message, {
          limit: error.limit,
          unfinished: error.unfinished,
          requested: error.requested,
          retryAfterSeconds: 60,
        });
      }
      throw error;
    }
  };
}

export async function emulatorOr404(fleet: FleetPort, id: string): Promise<EmulatorsTable> {
  const row = await fleet.emulator(id);
  if (!row) throw notFound('emulator');
  return row;
}

/** Where an operation on `emulator` runs, and which instance it is for. */
export function targetOf(emulator: EmulatorsTable): Pick<NewOperation, 'workstationId' | 'emulatorId' | 'target'> {
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
export function httpErrorOf(error: unknown): unknown {
  if (error instanceof ReadRefusedError) {
    return new HttpError(429, error.code, error.message, { limit: error.limit, retryAfterSeconds: error.retryAfterSeconds });
  }
  if (!(error instanceof ActionFailure)) return error;
  const status = { transport: 503, circuit_open: 503, timeout: 504, conflict: 409, ldconsole: 502 }[error.category];
  return new HttpError(status, error.category === 'transport' ? 'workstation_offline' : error.code, error.message, error.toJSON());
}

/** A service's state refusal as an HTTP error (404 or 409). */
export function httpStateError(error: unknown, what: string): unknown {
  if (!(error instanceof OperationStateError)) return error;
  return error.code === 'not_found' ? notFound(what) : new HttpError(409, error.code, error.message);
}
