/**
 * Replicas: several server processes on one PostgreSQL. The registry and leases, session
 * ownership, and the LISTEN/NOTIFY bridge that carries events, kicks and cancels between them.
 */
export { Cluster, newReplicaId } from './cluster.js';
export type { ClusterFleet, ClusterLogger, ClusterOptions, ClusterPeers } from './cluster.js';
export { CONTROL_CHANNEL, EVENTS_CHANNEL } from './bridge.js';
export type { ControlMessage } from './bridge.js';
export { clusterMigration, slotKindsMigration, streamSlotsMigration } from './schema.js';
export type { ClusterEventsTable, ReplicasTable, StreamSlotsTable } from './schema.js';
