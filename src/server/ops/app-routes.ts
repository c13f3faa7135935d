/**
 * `POST /emulators/{id}/apps`: a multipart APK upload, streamed into the uploads' store and sent
 * to the agent when the operation runs; or JSON `{packageName}`, which asks LDPlayer to install
 * that package from its own store (LD Store) on the instance. Multipart is registered in a scope
 * of its own so no other route parses it.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Hash } from 'node:crypto';
import multipart from '@fastify/multipart';
import { Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { FastifyRequest } from 'fastify';
import { HttpError, IdParams, badRequest, errorResponses } from '../http/index.js';
import type { App, TypeBoxTypeProvider } from '../http/index.js';
import { UploadQuotaError } from './uploads.js';
import { Accepted, IdempotencyHeaders, OfflineGraceSchema } from './route-schemas.js';
import { emulatorOr404, tags, targetOf } from './route-support.js';
import type { OpsRouteDeps, Submit } from './route-support.js';
import { PackageNameSchema } from '../../protocol/index.js';

const InstallByName = TypeCompiler.Compile(
  Type.Object({ packageName: PackageNameSchema, offlineGraceMs: Type.Optional(OfflineGraceSchema) }, { additionalProperties: false }),
);

export function registerAppInstallRoute(api: App, deps: OpsRouteDeps, submit: Submit): void {
  void api.register(async (plain) => {
    const scope = plain.withTypeProvider<TypeBoxTypeProvider>();
    await scope.register(multipart, { limits: { fileSize: deps.uploadMaxBytes, files: 1, fields: 10 } });
    scope.post(
      '/emulators/:id/apps',
      {
        config: { auth: 'operator' },
        schema: {
          tags,
          summary: 'Install an app: multipart APK upload (field "file"), or JSON {packageName} to install that package from LDPlayer\'s store',
          params: IdParams,
          headers: IdempotencyHeaders,
          response: { 202: Accepted, ...errorResponses(400, 401, 403, 404, 409, 413, 429, 507) },
        },
      },
      async (request, reply) => {
        const emulator = await emulatorOr404(deps.fleet, request.params.id);
        if (!request.isMultipart()) {
          const body = request.body ?? {};
          if (!InstallByName.Check(body)) {
            const details = [...InstallByName.Errors(body)].slice(0, 10).map((issue) => ({ path: issue.path, message: issue.message }));
            const [first] = details;
            throw badRequest(
              `send an APK as multipart field "file", or JSON {"packageName": "com.example.app"}${first ? ` (${first.path || 'body'}: ${first.message})` : ''}`,
              details,
            );
          }
          const params = { packageName: body.packageName };
          return submit(request, reply, { install: params, id: emulator.id }, async (requester) => ({
            kind: 'operation',
            operation: await deps.service.submitOperation(requester, { action: 'installApp', ...targetOf(emulator), params, offlineGraceMs: body.offlineGraceMs }),
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
          if (!(await deps.service.transferQueued(upload.transferId))) await deps.uploads.remove(upload.transferId);
        }
      },
    );
  });
}

interface Upload {
  transferId: string;
  fileName: string;
  bytes: number;
  sha256: string;
}

/**
 * Streams the `file` part into the uploads' store (a file on SQLite, chunks in PostgreSQL),
 * hashing it on the way; 413 past the size limit, 507 past the uploads' quota (checked against
 * the declared length first, then as the bytes arrive, so concurrent uploads cannot pass it
 * together). A refused upload leaves nothing stored.
 */
async function receiveUpload(request: FastifyRequest, deps: OpsRouteDeps): Promise<Upload> {
  const { uploads } = deps;
  const { quotaBytes } = uploads.options;
  const declared = Number(request.headers['content-length'] ?? 0);
  const usedBefore = await uploads.used();
  // The declared body holds the file and a little multipart framing.
  if (Number.isFinite(declared) && usedBefore + Math.max(0, declared - MULTIPART_SLACK) > quotaBytes) {
    throw quotaExceeded(new UploadQuotaError(quotaBytes, usedBefore));
  }
  const part = await request.file();
  if (!part || part.fieldname !== 'file') throw badRequest('the multipart body needs one file in the field "file"');
  const transferId = randomUUID();
  const hash = createHash('sha256');
  const refuse = async (error: unknown): Promise<never> => {
    await uploads.remove(transferId);
    throw error instanceof UploadQuotaError ? quotaExceeded(error) : error;
  };
  let bytes: number;
  try {
    bytes = await uploads.receive(transferId, hashed(part.file, hash));
  } catch (error) {
    return refuse(error);
  }
  if (part.file.truncated) return refuse(new HttpError(413, 'payload_too_large', `the APK is larger than the limit of ${deps.uploadMaxBytes} bytes`));
  if (bytes === 0) return refuse(badRequest('the uploaded file is empty'));
  return { transferId, fileName: part.filename.slice(0, 256), bytes, sha256: hash.digest('hex') };
}

async function* hashed(source: AsyncIterable<Buffer>, hash: Hash): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    hash.update(chunk);
    yield chunk;
  }
}

/** Bytes of multipart framing and fields a declared length may carry beside the file. */
const MULTIPART_SLACK = 64 * 1024;

function quotaExceeded(error: UploadQuotaError): HttpError {
  return new HttpError(507, 'upload_quota_exceeded', error.message, { quotaBytes: error.quotaBytes, usedBytes: error.usedBytes });
}
