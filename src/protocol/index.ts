/**
 * The agent channel: JSON text frames over the WebSocket at `/api/v1/agent/connect`.
 *
 * The agent dials out (workstations sit behind NAT), authenticates with its enrollment token in
 * the `Authorization: Bearer` header, and then both sides exchange the messages below. The
 * server validates every frame it receives against these schemas; the agent trusts the server.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';

export const PROTOCOL_VERSION = 1;
export const AGENT_CONNECT_PATH = '/api/v1/agent/connect';

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const ResolutionSchema = Type.Object({
  width: Type.Integer({ minimum: 1, maximum: 10_000 }),
  height: Type.Integer({ minimum: 1, maximum: 10_000 }),
  dpi: Type.Integer({ minimum: 1, maximum: 1_000 }),
});

/** An instance's settings as read from its `leidianN.config` (defaults filled in). */
export const SettingsSchema = Type.Object({
  cpu: Type.Integer(),
  memoryMb: Type.Integer(),
  resolution: ResolutionSchema,
  manufacturer: Type.String(),
  model: Type.String(),
  phoneNumber: Type.String(),
  imei: Type.String(),
  imsi: Type.String(),
  simSerial: Type.String(),
  androidId: Type.String(),
  mac: Type.String(),
  autoRotate: Type.Boolean(),
  lockWindow: Type.Boolean(),
  root: Type.Boolean(),
});
export type Settings = Static<typeof SettingsSchema>;

export const InstanceStateSchema = Type.Union([
  Type.Literal('stopped'),
  Type.Literal('starting'),
  Type.Literal('running'),
]);
export type InstanceState = Static<typeof InstanceStateSchema>;

/**
 * One LDPlayer instance as an agent observes it. `generation` changes when an index is deleted
 * and later reused (the agent derives it from the instance folder's creation), so the server
 * can tell a new instance from an old one at the same index.
 */
export const ObservedInstanceSchema = Type.Object({
  index: Type.Integer({ minimum: 0 }),
  generation: Type.String({ minLength: 1, maxLength: 64 }),
  name: Type.String({ maxLength: 256 }),
  state: InstanceStateSchema,
  booted: Type.Boolean(),
  pids: Nullable(Type.Object({ player: Type.Integer(), vbox: Type.Integer() })),
  /** Null when the instance's config cannot be read: list2 lists it, its settings are unknown. */
  settings: Nullable(SettingsSchema),
  adbSerial: Type.String(),
  /** Why part of the instance could not be observed (an unreadable folder or config); null when whole. */
  problem: Type.Optional(Nullable(Type.String({ maxLength: 512 }))),
});
export type ObservedInstance = Static<typeof ObservedInstanceSchema>;

export const ErrorCategorySchema = Type.Union([
  Type.Literal('transport'),
  Type.Literal('ldconsole'),
  Type.Literal('timeout'),
  Type.Literal('conflict'),
  Type.Literal('circuit_open'),
]);
export type ErrorCategory = Static<typeof ErrorCategorySchema>;

/** The typed error every failed action carries, from the agent up to the API. */
export const ActionErrorSchema = Type.Object({
  category: ErrorCategorySchema,
  code: Type.String({ maxLength: 64 }),
  message: Type.String({ maxLength: 4096 }),
});
export type ActionError = Static<typeof ActionErrorSchema>;

export const MetricsSchema = Type.Object({
  cpuPercent: Type.Number({ minimum: 0, maximum: 100 }),
  memoryTotalBytes: Type.Number({ minimum: 0 }),
  memoryUsedBytes: Type.Number({ minimum: 0 }),
  diskTotalBytes: Type.Number({ minimum: 0 }),
  diskFreeBytes: Type.Number({ minimum: 0 }),
});
export type Metrics = Static<typeof MetricsSchema>;

// ---------------------------------------------------------------------------------------------
// Agent → server

export const HelloSchema = Type.Object({
  type: Type.Literal('hello'),
  protocol: Type.Integer(),
  agentVersion: Type.String({ maxLength: 64 }),
  hostname: Type.String({ maxLength: 256 }),
  os: Type.String({ maxLength: 256 }),
  ldplayer: Type.Object({
    path: Type.String({ maxLength: 1024 }),
    installDir: Type.String({ maxLength: 1024 }),
    version: Nullable(Type.String({ maxLength: 64 })),
  }),
});

export const HeartbeatSchema = Type.Object({ type: Type.Literal('heartbeat') });

/**
 * Inventory changes since the last message. `full: true` replaces everything the server holds
 * for this workstation (sent after every (re)connect and on `inventory.resync`).
 */
export const InventorySchema = Type.Object({
  type: Type.Literal('inventory'),
  full: Type.Boolean(),
  upserts: Type.Array(ObservedInstanceSchema, { maxItems: 10_000 }),
  removed: Type.Array(Type.Object({ index: Type.Integer({ minimum: 0 }), generation: Type.String() }), {
    maxItems: 10_000,
  }),
});

export const MetricsMessageSchema = Type.Object({ type: Type.Literal('metrics'), metrics: MetricsSchema });

/** Why a connected agent cannot do its job (`reason` machine-readable), or null/null when it can. */
export const WorkstationHealthReasonSchema = Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z][a-z0-9_]*$' });
export const StatusMessageSchema = Type.Object({
  type: Type.Literal('status'),
  reason: Nullable(WorkstationHealthReasonSchema),
  message: Nullable(Type.String({ maxLength: 1024 })),
});
export type StatusMessage = Static<typeof StatusMessageSchema>;

export const RpcResultSchema = Type.Union([
  Type.Object({ type: Type.Literal('rpc.result'), id: Type.String(), ok: Type.Literal(true), result: Type.Unknown() }),
  Type.Object({ type: Type.Literal('rpc.result'), id: Type.String(), ok: Type.Literal(false), error: ActionErrorSchema }),
]);

export const AgentMessageSchema = Type.Union([
  HelloSchema,
  HeartbeatSchema,
  InventorySchema,
  MetricsMessageSchema,
  StatusMessageSchema,
  RpcResultSchema,
]);
export type AgentMessage = Static<typeof AgentMessageSchema>;
export type InventoryMessage = Static<typeof InventorySchema>;
export type HelloMessage = Static<typeof HelloSchema>;
export type RpcResultMessage = Static<typeof RpcResultSchema>;

// ---------------------------------------------------------------------------------------------
// Server → agent

export const WelcomeSchema = Type.Object({
  type: Type.Literal('welcome'),
  workstationId: Type.String(),
  heartbeatMs: Type.Integer(),
  inventoryPollMs: Type.Integer(),
  metricsMs: Type.Integer(),
});

/**
 * Files (APKs) reach the agent in chunks before the `installApp` call that names them, so an
 * upload streams through the server without being held whole in memory.
 */
export const FileChunkSchema = Type.Object({
  type: Type.Literal('file.chunk'),
  transferId: Type.String(),
  /** base64 */
  data: Type.String(),
  last: Type.Boolean(),
});

/**
 * `id` names one execution of an action (the operation id and its attempt). The agent runs a
 * given id at most once: a call repeated with an id still in flight joins it, and one repeated
 * after it finished gets the recorded result. That lets a restarted server re-send a call it
 * lost track of without creating a second instance.
 */
export const RpcCallSchema = Type.Object({
  type: Type.Literal('rpc.call'),
  id: Type.String(),
  method: Type.String(),
  params: Type.Unknown(),
  timeoutMs: Type.Integer({ minimum: 1 }),
});

export const ResyncSchema = Type.Object({ type: Type.Literal('inventory.resync') });

export const ServerMessageSchema = Type.Union([WelcomeSchema, FileChunkSchema, RpcCallSchema, ResyncSchema]);
export type ServerMessage = Static<typeof ServerMessageSchema>;
export type RpcCallMessage = Static<typeof RpcCallSchema>;
export type FileChunkMessage = Static<typeof FileChunkSchema>;

// ---------------------------------------------------------------------------------------------
// Shapes a caller gives (the API validates them; the agent's driver checks its own bounds
// again). The bounds are those of ldconsole-reference §3.4 and of the driver (src/ldconsole).
// No value may start with "-": ldconsole would read it as an option.

export const MEMORY_SIZES_MB = [256, 512, 768, 1024, 1536, 2048, 4096, 8192] as const;

const autoOr = (pattern: string, what: string) => Type.String({ pattern: `^(auto|${pattern})$`, description: `"auto" or ${what}` });

/** Settings as a caller gives them to create or modify: any non-empty subset, nothing else. */
export const SettingsInputSchema = Type.Object(
  {
    cpu: Type.Optional(Type.Integer({ minimum: 1, maximum: 4 })),
    memoryMb: Type.Optional(Type.Union(MEMORY_SIZES_MB.map((size) => Type.Literal(size)))),
    resolution: Type.Optional(
      Type.Object(
        {
          width: Type.Integer({ minimum: 100, maximum: 8192 }),
          height: Type.Integer({ minimum: 100, maximum: 8192 }),
          dpi: Type.Integer({ minimum: 60, maximum: 1000 }),
        },
        { additionalProperties: false },
      ),
    ),
    manufacturer: Type.Optional(
      Type.String({ pattern: '^[^-\\s,"][^\\s,"]{0,63}$', description: '1-64 characters without spaces, commas or quotes, not starting with "-"' }),
    ),
    model: Type.Optional(
      Type.String({ pattern: '^[^-\\r\\n\\u0000",][^\\r\\n\\u0000",]{0,63}$', description: '1-64 characters without commas or quotes, not starting with "-"' }),
    ),
    phoneNumber: Type.Optional(Type.String({ pattern: '^\\+?[0-9]{1,20}$', description: 'up to 20 digits, optionally after +' })),
    imei: Type.Optional(autoOr('[0-9]{15}', '15 digits')),
    imsi: Type.Optional(autoOr('[0-9]{15}', '15 digits')),
    simSerial: Type.Optional(autoOr('[0-9]{20}', '20 digits')),
    androidId: Type.Optional(autoOr('[0-9a-fA-F]{16}', '16 hex characters')),
    mac: Type.Optional(autoOr('[0-9a-fA-F]{12}', '12 hex characters without separators')),
    autoRotate: Type.Optional(Type.Boolean()),
    lockWindow: Type.Optional(Type.Boolean()),
    root: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1 },
);
/** Settings as a caller gives them: any subset; identity fields also accept `"auto"`. */
export type SettingsInput = Static<typeof SettingsInputSchema>;

/** An instance title: what `add --name` and `rename --title` accept safely (no commas: list2 is CSV; no leading "-"). */
export const InstanceNameSchema = Type.String({ minLength: 1, maxLength: 64, pattern: '^[^-,\\r\\n\\u0000"][^,\\r\\n\\u0000"]*$' });
export const PackageNameSchema = Type.String({ minLength: 1, maxLength: 256, pattern: '^[A-Za-z][A-Za-z0-9_]*(\\.[A-Za-z0-9_]+)+$' });
export const ShellCommandSchema = Type.String({ minLength: 1, maxLength: 8000, pattern: '^[^\\u0000]*$' });

// ---------------------------------------------------------------------------------------------
// RPC methods: one ldconsole or adb action each. The agent runs state-changing calls one at a
// time per host and reads in parallel; retries, batching and placement are the server's.

export interface RpcMethods {
  /** `add [--name]`, then `modify` when settings are given. */
  create: { params: { name: string; settings?: SettingsInput }; result: ObservedInstance };
  /** `copy --name --from`; the source must be stopped. */
  clone: { params: { sourceIndex: number; name: string }; result: ObservedInstance };
  rename: { params: { index: number; name: string }; result: ObservedInstance };
  modify: { params: { index: number; settings: SettingsInput }; result: ObservedInstance };
  remove: { params: { index: number }; result: { index: number } };
  /** `launch`, then wait for `sys.boot_completed` (outside the per-host mutation lock). */
  start: { params: { index: number; bootTimeoutMs: number; launchIntervalMs?: number }; result: ObservedInstance };
  stop: { params: { index: number }; result: ObservedInstance };
  restart: { params: { index: number; bootTimeoutMs: number; launchIntervalMs?: number }; result: ObservedInstance };
  /** Either a file sent before as `file.chunk` messages, or a package name from the LD Store. */
  installApp: { params: { index: number; transferId?: string; packageName?: string }; result: { packageName: string } };
  uninstallApp: { params: { index: number; packageName: string }; result: { packageName: string } };
  launchApp: { params: { index: number; packageName: string }; result: { packageName: string } };
  killApp: { params: { index: number; packageName: string }; result: { packageName: string } };
  /** `exitCode` is the guest command's status; null where adb gives none. */
  shell: { params: { index: number; command: string }; result: { output: string; exitCode: number | null } };
  /** `adb shell pm list packages`: the installed package names. */
  listApps: { params: { index: number }; result: { packages: string[] } };
  /** PNG bytes, base64. */
  screenshot: { params: { index: number }; result: { pngBase64: string } };
  /** A fresh full inventory (also sent as an `inventory` message). */
  inventory: { params: Record<string, never>; result: { instances: ObservedInstance[] } };
}
export type RpcMethod = keyof RpcMethods;
export const RPC_METHODS: readonly RpcMethod[] = [
  'create', 'clone', 'rename', 'modify', 'remove', 'start', 'stop', 'restart',
  'installApp', 'uninstallApp', 'launchApp', 'killApp', 'shell', 'listApps', 'screenshot', 'inventory',
];


const RpcIndex = Type.Integer({ minimum: 0 });
const RpcName = Type.String({ minLength: 1, maxLength: 256 });
const RpcPackageName = Type.String({ minLength: 1, maxLength: 256 });
const BootTimeout = Type.Integer({ minimum: 1 });
/** The workstation's launch spacing, which the agent keeps right before it spawns `launch`. */
const LaunchInterval = Type.Integer({ minimum: 0, maximum: 3_600_000 });
/** At the agent only the shape: its driver checks each setting's value and reports the refusal. */
const RpcSettings = Type.Record(Type.String(), Type.Unknown());

/** The params of each RPC method, as the agent checks them before it runs a call. */
export const RPC_PARAMS: { readonly [M in RpcMethod]: TSchema } = {
  create: Type.Object({ name: RpcName, settings: Type.Optional(RpcSettings) }),
  clone: Type.Object({ sourceIndex: RpcIndex, name: RpcName }),
  rename: Type.Object({ index: RpcIndex, name: RpcName }),
  modify: Type.Object({ index: RpcIndex, settings: RpcSettings }),
  remove: Type.Object({ index: RpcIndex }),
  start: Type.Object({ index: RpcIndex, bootTimeoutMs: BootTimeout, launchIntervalMs: Type.Optional(LaunchInterval) }),
  stop: Type.Object({ index: RpcIndex }),
  restart: Type.Object({ index: RpcIndex, bootTimeoutMs: BootTimeout, launchIntervalMs: Type.Optional(LaunchInterval) }),
  installApp: Type.Object({ index: RpcIndex, transferId: Type.Optional(Type.String({ minLength: 1 })), packageName: Type.Optional(RpcPackageName) }),
  uninstallApp: Type.Object({ index: RpcIndex, packageName: RpcPackageName }),
  launchApp: Type.Object({ index: RpcIndex, packageName: RpcPackageName }),
  killApp: Type.Object({ index: RpcIndex, packageName: RpcPackageName }),
  shell: Type.Object({ index: RpcIndex, command: Type.String({ minLength: 1, maxLength: 8_000 }) }),
  listApps: Type.Object({ index: RpcIndex }),
  screenshot: Type.Object({ index: RpcIndex }),
  inventory: Type.Object({}),
};

const PackageResultSchema = Type.Object({ packageName: Type.String({ minLength: 1, maxLength: 256 }) });

/**
 * What each method's `rpc.result` must hold when `ok`. The server checks every result against
 * these before it believes it: a buggy or hostile agent cannot put a malformed emulator into
 * the store (which would then break every listing).
 */
export const RPC_RESULT_SCHEMAS = {
  create: ObservedInstanceSchema,
  clone: ObservedInstanceSchema,
  rename: ObservedInstanceSchema,
  modify: ObservedInstanceSchema,
  remove: Type.Object({ index: Type.Integer({ minimum: 0 }) }),
  start: ObservedInstanceSchema,
  stop: ObservedInstanceSchema,
  restart: ObservedInstanceSchema,
  installApp: PackageResultSchema,
  uninstallApp: PackageResultSchema,
  launchApp: PackageResultSchema,
  killApp: PackageResultSchema,
  shell: Type.Object({ output: Type.String() }),
  listApps: Type.Object({ packages: Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { maxItems: 10_000 }) }),
  screenshot: Type.Object({ pngBase64: Type.String() }),
  inventory: Type.Object({ instances: Type.Array(ObservedInstanceSchema, { maxItems: 10_000 }) }),
} satisfies { [M in RpcMethod]: TSchema };

// Each schema must describe exactly its method's result type (a compile error otherwise).
type ResultSchemaMatches = { [M in RpcMethod]: Static<(typeof RPC_RESULT_SCHEMAS)[M]> extends RpcMethods[M]['result'] ? (RpcMethods[M]['result'] extends Static<(typeof RPC_RESULT_SCHEMAS)[M]> ? true : false) : false };
const resultSchemasMatch: ResultSchemaMatches[RpcMethod] = true;
void resultSchemasMatch;

const resultChecks = new Map<string, TypeCheck<TSchema>>(
  Object.entries(RPC_RESULT_SCHEMAS).map(([method, schema]): [string, TypeCheck<TSchema>] => [method, TypeCompiler.Compile<TSchema>(schema)]),
);

export function isProtocolRpcMethod(method: string): method is RpcMethod {
  return Object.hasOwn(RPC_RESULT_SCHEMAS, method);
}

/** Null when `result` is a valid result of `method`, else where and why it is not (`/settings/cpu: Expected integer`). */
export function rpcResultProblem(method: RpcMethod, result: unknown): string | null {
  const check = resultChecks.get(method);
  if (check === undefined) return `${method} is not a method of this protocol`;
  if (check.Check(result)) return null;
  const first = check.Errors(result).First();
  return first ? `${first.path || '/'}: ${first.message}` : 'does not match the protocol';
}


const agentMessageCheck = TypeCompiler.Compile(AgentMessageSchema);
const serverMessageCheck = TypeCompiler.Compile(ServerMessageSchema);

/** Parses one text frame from an agent; `null` when it is not valid JSON or not a known message. */
export function parseAgentMessage(text: string): AgentMessage | null {
  return parseWith(text, (value): value is AgentMessage => agentMessageCheck.Check(value));
}

/** Parses one text frame from the server; `null` when it is not a known message. */
export function parseServerMessage(text: string): ServerMessage | null {
  return parseWith(text, (value): value is ServerMessage => serverMessageCheck.Check(value));
}

function parseWith<T>(text: string, check: (value: unknown) => value is T): T | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  return check(value) ? value : null;
}

/** The adb serial LDPlayer gives instance N (reference §8). */
export function adbSerialFor(index: number): string {
  return `emulator-${5554 + 2 * index}`;
}

/**
 * Regroups a byte stream into chunks of exactly `size` bytes (the last one may be shorter): the
 * `file.chunk` messages of a transfer, and the rows an upload is stored in.
 */
export async function* rechunk(source: AsyncIterable<Uint8Array | string>, size: number): AsyncGenerator<Buffer> {
  let buffered: Buffer[] = [];
  let length = 0;
  for await (const piece of source) {
    const bytes = typeof piece === 'string' ? Buffer.from(piece) : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    buffered.push(bytes);
    length += bytes.length;
    while (length >= size) {
      const all = Buffer.concat(buffered, length);
      yield all.subarray(0, size);
      buffered = [all.subarray(size)];
      length -= size;
    }
  }
  if (length > 0) yield Buffer.concat(buffered, length);
}
