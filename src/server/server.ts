import { loadSecrets, openSharedLimits } from './shared/index.js';
import type { SharedLimits } from './shared/index.js';
import type { Config } from './config/index.js';
import { openStore } from './store/index.js';
import { migrations } from './migrations.js';
import type { Store, NamedMigration } from './store/index.js';
import { AuditLog, AuthService, authUnit, installAuditHook, installAuthGuard, API_PREFIX } from './auth/index.js';
import type { RegisteredRoute } from './auth/index.js';
import { Workstations, workstationsUnit } from './workstations/index.js';
import websocket from '@fastify/websocket';
import { EventBus, eventsUnit } from './events/index.js';
import type { EventsRouteOptions } from './events/index.js';
import { Fleet, emulatorsUnit } from './fleet/index.js';
import { Gateway, agentGatewayUnit } from './gateway/index.js';
import type { GatewayOptions } from './gateway/index.js';
import { createOperations, engineOptionsFromConfig } from './ops/index.js';
import type { Clock, EngineOptions, Operations } from './ops/index.js';
import { buildApp, closeUndeclaredQueries, registerOperationalRoutes } from './http/app.js';
import { installMetrics } from './http/metrics.js';
import { Counter } from 'prom-client';
import type { App } from './http/type-provider.js';
import type { ServerUnit } from './http/index.js';
import type { ServerContext } from './context.js';
import { registerDownloads } from './downloads/index.js';
import { AGENT_BUNDLE_FILE } from '../package/index.js';
import { registerDashboard } from './web/index.js';
import { Cluster, newReplicaId } from './cluster/index.js';

export interface ServerOptions {
  /** Units added after the core ones (auth, workstations); their routes live under /api/v1. */
  readonly units?: readonly ServerUnit<ServerContext>[];
  /** Migrations to apply instead of the built-in list (tests of migrations). */
  readonly migrations?: readonly NamedMigration[];
  /** Where the JSON log lines go; stdout by default. */
  readonly logStream?: NodeJS.WritableStream;
  /** Where the one-time admin password banner goes; stdout by default. */
  readonly print?: (text: string) => void;
  /** Agent channel tuning (intervals in `welcome`, heartbeat tolerance, RPC grace); tests shorten them. */
  readonly gateway?: Omit<GatewayOptions, 'sink' | 'logger'>;
  /** `/events` tuning: slow-client bound, ping interval. */
  readonly events?: Omit<EventsRouteOptions, 'bus' | 'authenticate' | 'onCredentialsChanged'>;
  /** Operation engine tuning beyond the configuration (sweep interval, retry delays); tests shorten them. */
  readonly operations?: Partial<EngineOptions>;
  /** The operation engine's clock; tests move it instead of sleeping. */
  readonly clock?: Clock;
  /** The agent bundle served at /downloads (default: the package's dist/agent/ldfleet-agent.mjs). */
  readonly agentBundleFile?: string;
  /** The built web dashboard served at `/` (default `dist/web` of the package). */
  readonly webDir?: string;
}

export interface Server extends ServerContext {
  readonly app: App;
  readonly workstations: Workstations;
  readonly operations: Operations;
  /** Every route with its access rule, in registration order (for the security tests). */
  readonly routes: readonly RegisteredRoute[];
  /** Starts listening on the configured host and port; resolves with the base URL. */
  listen(): Promise<string>;
  /** Stops accepting requests, lets running ones finish, then closes the store. */
  close(): Promise<void>;
}

/**
 * Builds the whole server: secrets, store (migrated), first admin, the Fastify app with every
 * unit's routes. Nothing listens until `listen()`.
 */
export async function createServer(config: Config, options: ServerOptions = {}): Promise<Server> {
  const store = await openStore({ dataDir: config.dataDir, databaseUrl: config.databaseUrl, migrations: options.migrations ?? migrations });
  let limits: SharedLimits | undefined;
  try {
    const secrets = await loadSecrets({
      store,
      dataDir: config.dataDir,
      jwtSecret: config.jwtSecret,
      secretsKey: config.secretsKey,
      secretsKeyFile: config.secretsKeyFile,
    });
    limits = await openSharedLimits(store, config.redisUrl);
    return await assemble(config, store, limits, secrets.jwtSecret, options);
  } catch (error) {
    await limits?.close();
    await store.close();
    throw error;
  }
}

async function assemble(config: Config, store: Store, limits: SharedLimits, jwtSecret: string, options: ServerOptions): Promise<Server> {
  const auth = await AuthService.create(store, {
    jwtSecret,
    accessTokenTtl: config.accessTokenTtl,
    refreshTokenTtl: config.refreshTokenTtl,
  });
  const audit = new AuditLog(store);
  await createFirstAdmin(auth, config, options.print ?? ((text) => process.stdout.write(text)));

  const app = await buildApp(config, options.logStream);
  // Inventory messages of a large workstation exceed ws's defaults; 32 MiB bounds one frame.
  await app.register(websocket, { options: { maxPayload: 32 * 1024 * 1024 } });
  const bus = new EventBus(app.log);
  const registry = installMetrics(app);
  const replicaId = newReplicaId();
  const fleet = new Fleet({ store, bus, registry, replicaId });
  const cluster = await Cluster.start({
    store,
    databaseUrl: config.databaseUrl,
    bus,
    fleet,
    logger: app.log.child({ unit: 'cluster', replicaId }),
    replicaId,
    url: config.replicaUrl,
    heartbeatMs: config.replicaHeartbeatMs,
    leaseMs: Math.max(config.replicaLeaseMs, 3 * config.replicaHeartbeatMs),
  });
  try {
    return await assembleUnits(config, store, options, { app, auth, audit, bus, registry, fleet, cluster, limits });
  } catch (error) {
    await cluster.close();
    throw error;
  }
}

interface Assembled {
  readonly app: App;
  readonly auth: AuthService;
  readonly audit: AuditLog;
  readonly bus: EventBus;
  readonly registry: ReturnType<typeof installMetrics>;
  readonly fleet: Fleet;
  readonly cluster: Cluster;
  readonly limits: SharedLimits;
}

async function assembleUnits(config: Config, store: Store, options: ServerOptions, parts: Assembled): Promise<Server> {
  const { app, auth, audit, bus, registry, fleet, cluster, limits } = parts;
  const gateway = new Gateway({ ...options.gateway, sink: fleet, logger: app.log });
  const routes: RegisteredRoute[] = [];
  closeUndeclaredQueries(app, API_PREFIX);
  installAuthGuard(app, auth, routes);
  installAuditHook(app, audit);
  new Counter({
    name: 'ldfleet_refused_anonymous_requests_total',
    help: 'Requests refused for want of a credential (only a sample of them is audited)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(audit.refusedAnonymous);
    },
  });
  const operations = createOperations({
    store,
    bus,
    gateway,
    fleet,
    registry,
    options: engineOptionsFromConfig(config, options.operations),
    uploadMaxBytes: config.uploadMaxBytes,
    logger: app.log.child({ unit: 'ops' }),
    replica: cluster.replica,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  cluster.attach({
    kickHere: (workstationId) => operations.engine.kickHere(workstationId),
    abortRunning: (operationId) => operations.engine.abortRunning(operationId),
    onlineWorkstations: () => gateway.onlineWorkstations(),
    readHere: (workstationId, read, waitMs) => operations.engine.readRelayed(workstationId, read, waitMs),
  });
  const workstations = new Workstations(store, async (ids) => {
    const inventory = await fleet.workstationExtras(ids);
    const engine = operations.workstationExtras(ids);
    return new Map(ids.map((id) => [id, { ...inventory.get(id), ...engine.get(id) }]));
  }, (change) => {
    if (change.kind === 'updated') void fleet.workstationUpdated(change.id);
    else gateway.disconnect(change.id, change.kind === 'deleted' ? 'workstation deleted' : 'enrollment token rotated');
  });
  registerOperationalRoutes(app, store, () => registry.metrics(), registry.contentType, config.metricsToken, () => cluster.notReady());
  registerDownloads(app, { agentBundleFile: options.agentBundleFile ?? AGENT_BUNDLE_FILE });
  await registerDashboard(app, { dir: options.webDir });

  const context: ServerContext = { config, store, auth, audit, bus, fleet, gateway, counters: limits.counters };
  const units = [
    authUnit,
    workstationsUnit(workstations),
    emulatorsUnit(store),
    eventsUnit({
      maxStreams: config.eventsMaxStreams,
      maxStreamsPerUser: config.eventsMaxStreamsPerUser,
      sharedSlots: cluster.streamSlots,
      ...options.events,
      bus,
      authenticate: (token) => auth.authenticate(token),
      onCredentialsChanged: (listener) => auth.onCredentialsChanged(listener),
    }),
    agentGatewayUnit({
      gateway,
      verifyEnrollmentToken: (token) => workstations.verifyEnrollmentToken(token),
      audit: async ({ target, action, ip, statusCode, requestId }) => {
        await audit.recordRefusal({
          action,
          ip,
          statusCode,
          requestId,
          target: target === null ? null : { type: 'workstation', id: target, name: null },
          actorId: null,
          actorName: null,
        });
      },
    }),
    operations.unit,
    ...(options.units ?? []),
  ];
  await app.register(
    async (api) => {
      for (const unit of units) await unit.routes(api, context);
    },
    { prefix: API_PREFIX },
  );
  await app.ready();
  operations.engine.start();

  let closed = false;
  return {
    ...context,
    app,
    workstations,
    operations,
    routes,
    async listen() {
      await app.listen({ port: config.port, host: config.host });
      const address = app.server.address();
      const port = typeof address === 'object' && address ? address.port : config.port;
      const host = config.host.includes(':') ? `[${config.host}]` : config.host;
      return `${config.tlsCert !== undefined ? 'https' : 'http'}://${host}:${port}`;
    },
    async close() {
      if (closed) return;
      closed = true;
      // Running operations stay `running` in the store; the next start resumes them.
      operations.engine.stop();
      // Sessions end first so their workstations are recorded offline while the store is open.
      await gateway.close();
      // Leaving the registry lets the other replicas take this one's running operations at once.
      await cluster.close();
      await app.close();
      await limits.close();
      await store.close();
    },
  };
}

async function createFirstAdmin(auth: AuthService, config: Config, print: (text: string) => void): Promise<void> {
  const { generatedPassword } = await auth.ensureFirstAdmin(config.adminPassword);
  if (generatedPassword === undefined) return;
  const line = '='.repeat(72);
  print(
    `${line}\n` +
      `ldfleet: created the first user.\n` +
      `  user name: admin\n` +
      `  password:  ${generatedPassword}\n` +
      `This password is shown only now. Log in and change it (PATCH /api/v1/users/{id}).\n` +
      `${line}\n`,
  );
}
