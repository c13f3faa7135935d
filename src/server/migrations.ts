/**
 * Every schema change of the server, oldest first: the store's core, then each unit's. Append
 * new migrations at the end (never edit an applied one).
 */
import { agentHealthMigration, emulatorsMigration } from './fleet/index.js';
import { batchParamsMigration, operationTargetMigration, operationWaitingMigration, operationsMigration, uploadsMigration } from './ops/index.js';
import { auditChangesMigration, coreMigrations } from './store/index.js';
import { apiTokenParentMigration } from './auth/index.js';
import { clusterMigration, slotKindsMigration, streamSlotsMigration } from './cluster/index.js';
import { sharedStateMigration } from './shared/index.js';
import type { NamedMigration } from './store/index.js';

export const migrations: readonly NamedMigration[] = [
  ...coreMigrations,
  { name: '0002_emulators', migration: emulatorsMigration },
  { name: '0003_operations', migration: operationsMigration },
  { name: '0004_operation_target', migration: operationTargetMigration },
  { name: '0005_operation_waiting', migration: operationWaitingMigration },
  { name: '0006_audit_changes', migration: auditChangesMigration },
  { name: '0007_agent_health', migration: agentHealthMigration },
  { name: '0008_api_token_parent', migration: apiTokenParentMigration },
  { name: '0009_batch_params', migration: batchParamsMigration },
  { name: '0011_cluster', migration: clusterMigration },
  { name: '0012_shared_state', migration: sharedStateMigration },
  // Both halves of the replicas' shared state that issue 14 left: uploads and stream slots.
  {
    name: '0014_uploads_stream_slots',
    migration: {
      async up(db) {
        await uploadsMigration.up(db);
        await streamSlotsMigration.up(db);
      },
    },
  },
  { name: '0015_slot_kinds', migration: slotKindsMigration },
];
