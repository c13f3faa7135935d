/** The gateway unit: agent sessions, RPCs to agents, file transfers, offline detection. */
export { Gateway } from './gateway.js';
export type { CallOptions, FileSource, GatewayOptions, SendFileOptions, SessionListener } from './gateway.js';
export { RpcError } from './errors.js';
export { AgentCloseCode, DEFAULT_INTERVALS } from './types.js';
export type { AgentIntervals, AgentSink, EnrolledWorkstation, GatewayLogger } from './types.js';
export { agentGatewayUnit, registerAgentConnectRoute, AGENT_CONNECT_ROUTE } from './routes.js';
export type { AgentConnectRouteOptions, RefusedAgentRecord } from './routes.js';
export type { AgentSession } from './session.js';
