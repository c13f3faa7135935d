/** The http unit: the Fastify app, the error model, shared schemas and the server's assembly. */
export { HttpError, badRequest, unauthorized, forbidden, notFound, conflict, errorBody, toErrorReply } from './errors.js';
export type { ErrorBody } from './errors.js';
export { ErrorSchema, IdParams, PageQuery, PageOf, Text, Name, errorResponses } from './schemas.js';
export type { App, TypeBoxTypeProvider } from './type-provider.js';
export type { ServerUnit } from './context.js';
