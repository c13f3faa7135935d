/** The ops routes' schemas: what each body and query takes (closed) and what the replies carry. */
import { Type } from '@sinclair/typebox';
import type { Static, TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { IdParams, PageQuery } from '../http/index.js';
import { ActionErrorSchema, InstanceNameSchema, PackageNameSchema, SettingsInputSchema, ShellCommandSchema } from '../../protocol/index.js';
import { ACTIONS, BATCH_ACTIONS, BATCH_STATUSES, OPERATION_STATUSES, WAITING_REASONS } from './types.js';
import type { BatchAction } from './types.js';

export const MAX_BATCH_TARGETS = 10_000;
export const MAX_CREATE_COUNT = 500;
/** Up to a day: longer is "forever" in disguise. */
const MAX_GRACE_MS = 86_400_000;

const literals = <T extends string>(values: readonly T[]) => Type.Union(values.map((value) => Type.Literal(value)));

export const WaitingSchema = Type.Object({
  reason: Type.Union([literals(WAITING_REASONS), Type.String()]),
  message: Type.String(),
  since: Type.String(),
});

export const OperationSchema = Type.Object(
  {
    id: Type.String(),
    action: Type.String(),
    status: literals(OPERATION_STATUSES),
    emulatorId: Type.Optional(Type.String()),
    workstationId: Type.String(),
    batchId: Type.Optional(Type.String()),
    params: Type.Record(Type.String(), Type.Unknown()),
    attempts: Type.Integer(),
    result: Type.Optional(Type.Unknown()),
    error: Type.Optional(ActionErrorSchema),
    waiting: Type.Union([WaitingSchema, Type.Null()]),
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
    status: literals(BATCH_STATUSES),
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
export const Accepted = Type.Union([OperationSchema, BatchSchema]);

export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 200, pattern: '^[\\x21-\\x7e]+$' })),
});

/** How long a queued operation may wait for its offline workstation before it fails. */
export const OfflineGraceSchema = Type.Integer({ minimum: 0, maximum: MAX_GRACE_MS, description: 'ms a queued operation waits for its offline workstation before it fails (server default: offlineGraceMs)' });

/** A workstation id or name. */
export const WorkstationRefSchema = Type.String({ minLength: 1, maxLength: 200, pattern: '^[^\\u0000]*$' });

export const CreateBody = Type.Object(
  {
    name: InstanceNameSchema,
    count: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_CREATE_COUNT })),
    settings: Type.Optional(SettingsInputSchema),
    cloneFrom: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    workstationId: Type.Optional(WorkstationRefSchema),
    offlineGraceMs: Type.Optional(OfflineGraceSchema),
  },
  { additionalProperties: false },
);
export type CreateBodyType = Static<typeof CreateBody>;

export const PatchBody = Type.Object(
  {
    name: Type.Optional(InstanceNameSchema),
    settings: Type.Optional(SettingsInputSchema),
    restart: Type.Optional(Type.Boolean({ description: 'stop, modify and start again when the emulator is running' })),
    offlineGraceMs: Type.Optional(OfflineGraceSchema),
  },
  { additionalProperties: false, minProperties: 1 },
);

/** The optional body of an action without parameters (start, stop, …). */
export const ActionBody = Type.Union([Type.Object({ offlineGraceMs: Type.Optional(OfflineGraceSchema) }, { additionalProperties: false }), Type.Null()]);

export const ShellBody = Type.Object({ command: ShellCommandSchema, offlineGraceMs: Type.Optional(OfflineGraceSchema) }, { additionalProperties: false });

export const PackageParams = Type.Object({ id: IdParams.properties.id, package: PackageNameSchema });

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
export const BATCH_PARAM_CHECKS = Object.fromEntries(
  Object.entries(BATCH_PARAMS).map(([action, schema]) => [action, TypeCompiler.Compile(schema)]),
) as Record<BatchAction, ReturnType<typeof TypeCompiler.Compile>>;

export const EmulatorFilterSchema = Type.Object(
  {
    workstation: Type.Optional(WorkstationRefSchema),
    state: Type.Optional(Type.Union([Type.Literal('stopped'), Type.Literal('starting'), Type.Literal('running')])),
    q: Type.Optional(Type.String({ maxLength: 256, pattern: '^[^\\u0000]*$' })),
  },
  { additionalProperties: false },
);

export const BatchBody = Type.Object(
  {
    action: literals(BATCH_ACTIONS),
    target: Type.Union([
      Type.Object({ ids: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: MAX_BATCH_TARGETS }) }, { additionalProperties: false }),
      Type.Object({ filter: EmulatorFilterSchema }, { additionalProperties: false }),
    ]),
    params: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    offlineGraceMs: Type.Optional(OfflineGraceSchema),
  },
  { additionalProperties: false },
);
export type BatchBodyType = Static<typeof BatchBody>;

const Order = Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')], { default: 'desc', description: 'by creation; newest first by default' }));

export const OperationsQuery = Type.Object(
  {
    ...PageQuery,
    order: Order,
    status: Type.Optional(literals(OPERATION_STATUSES)),
    batch: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    emulator: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    workstation: Type.Optional(WorkstationRefSchema),
    action: Type.Optional(literals(ACTIONS)),
  },
  { additionalProperties: false },
);

export const BatchesQuery = Type.Object(
  {
    ...PageQuery,
    order: Order,
    status: Type.Optional(literals(BATCH_STATUSES)),
    action: Type.Optional(literals(ACTIONS)),
  },
  { additionalProperties: false },
);

export const BatchPageQuery = Type.Object(PageQuery, { additionalProperties: false });

export const AppsReply = Type.Object({ items: Type.Array(Type.Object({ packageName: Type.String() })) });
