import type { Batch, Operation } from './types.js';

declare module '../events/bus.js' {
  interface EventDataMap {
    'operation.created': Operation;
    'operation.updated': Operation;
    'operation.finished': Operation;
    'batch.created': Batch;
    'batch.updated': Batch;
    'batch.finished': Batch;
  }
}
