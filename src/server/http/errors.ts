import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { InvalidCursorError, isDataException, isUniqueViolation } from '../store/index.js';
import { issueMessage, issuePath } from './validation.js';

/** The body of every error reply: `{ error: { code, message, details? } }`. */
export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

/** An error meant for the client; thrown from handlers and hooks. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const badRequest = (message: string, details?: unknown): HttpError =>
  new HttpError(400, 'validation_failed', message, details);
export const unauthorized = (message = 'authentication required'): HttpError =>
  new HttpError(401, 'unauthorized', message);
export const forbidden = (message = 'your role does not allow this'): HttpError =>
  new HttpError(403, 'forbidden', message);
export const notFound = (what = 'resource'): HttpError => new HttpError(404, 'not_found', `${what} not found`);
export const conflict = (message: string): HttpError => new HttpError(409, 'conflict', message);

/** The code of a status the client caused, for errors thrown by Fastify itself. */
const CODE_BY_STATUS: Readonly<Record<number, string>> = {
  400: 'validation_failed',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  409: 'conflict',
  413: 'payload_too_large',
  414: 'uri_too_long',
  415: 'unsupported_media_type',
  422: 'unprocessable',
  429: 'rate_limited',
  431: 'headers_too_large',
};

/** Turns any thrown value into the error model; only true faults of the server become 500. */
export function toErrorReply(error: unknown): { status: number; body: ErrorBody; fault: boolean } {
  if (error instanceof HttpError) {
    return { status: error.statusCode, body: errorBody(error.code, error.message, error.details), fault: false };
  }
  const fastifyError = error as Partial<FastifyError> | null;
  if (fastifyError?.validation) {
    const details = fastifyError.validation.map((issue) => ({
      location: fastifyError.validationContext ?? 'request',
      path: issuePath(issue),
      message: issueMessage(issue),
    }));
    return { status: 400, body: errorBody('validation_failed', fastifyError.message ?? 'invalid request', details), fault: false };
  }
  if (error instanceof InvalidCursorError) {
    return { status: 400, body: errorBody('validation_failed', error.message), fault: false };
  }
  if (isDataException(error)) {
    return { status: 400, body: errorBody('validation_failed', 'a value was refused by the database'), fault: false };
  }
  if (isUniqueViolation(error)) {
    return { status: 409, body: errorBody('conflict', 'a resource with these unique fields already exists'), fault: false };
  }
  const status = fastifyError?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const code = CODE_BY_STATUS[status] ?? 'bad_request';
    return { status, body: errorBody(code, fastifyError?.message ?? code), fault: false };
  }
  return { status: 500, body: errorBody('internal', 'internal server error'), fault: true };
}

export function errorBody(code: string, message: string, details?: unknown): ErrorBody {
  return details === undefined ? { error: { code, message } } : { error: { code, message, details } };
}

export async function sendError(request: FastifyRequest, reply: FastifyReply, error: unknown): Promise<void> {
  const { status, body, fault } = toErrorReply(error);
  if (fault) request.log.error({ err: error }, 'request failed');
  if (status === 429 && error instanceof HttpError) {
    const retryAfter = (error.details as { retryAfterSeconds?: number } | undefined)?.retryAfterSeconds;
    if (retryAfter !== undefined) void reply.header('retry-after', String(retryAfter));
  }
  await reply.status(status).type('application/json; charset=utf-8').send(body);
}
