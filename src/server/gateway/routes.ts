/**
 * `GET /api/v1/agent/connect`: the agents' WebSocket. The enrollment token is checked before the
 * upgrade, so a bad or rotated token gets a plain 401 (and an audit entry) and never a socket.
 */
import type {} from '@fastify/websocket';
import type { FastifyRequest } from 'fastify';
import type { App, ServerUnit } from '../http/index.js';
import type { Gateway } from './gateway.js';
import type { EnrolledWorkstation } from './types.js';

/** What the route writes to the audit log when it refuses an agent. */
export interface RefusedAgentRecord {
  readonly action: 'agent.connect';
  readonly target: string | null;
  readonly ip: string;
  readonly statusCode: 401;
  readonly requestId: string;
  readonly reason: string;
}

export interface AgentConnectRouteOptions {
  readonly gateway: Gateway;
  /** The workstation an enrollment token belongs to, or null (unknown, rotated, removed). */
  readonly verifyEnrollmentToken: (token: string) => Promise<EnrolledWorkstation | null>;
  readonly audit: (record: RefusedAgentRecord) => Promise<void>;
}

function bearerOf(request: FastifyRequest): string | null {
  const match = /^Bearer +(\S{1,4096})\s*$/i.exec(request.headers.authorization ?? '');
  return match?.[1] ?? null;
}

/** Under the API prefix: the protocol's `AGENT_CONNECT_PATH`, `/api/v1/agent/connect`. */
export const AGENT_CONNECT_ROUTE = '/agent/connect';

export function agentGatewayUnit(options: AgentConnectRouteOptions): ServerUnit {
  return { name: 'agent-gateway', routes: (api) => registerAgentConnectRoute(api, options) };
}

export function registerAgentConnectRoute(app: App, options: AgentConnectRouteOptions): void {
  const enrolled = new WeakMap<FastifyRequest, EnrolledWorkstation>();

  app.get(
    AGENT_CONNECT_ROUTE,
    {
      websocket: true,
      schema: { tags: ['agents'], summary: 'WebSocket: the agents\' channel (Bearer enrollment token)' },
      // Agents authenticate with an enrollment token, not a user's token: checked right here.
      config: { auth: 'public' },
      onRequest: async (request, reply) => {
        const token = bearerOf(request);
        const workstation = token === null ? null : await options.verifyEnrollmentToken(token);
        if (workstation) {
          enrolled.set(request, workstation);
          return;
        }
        const reason = token === null ? 'no enrollment token' : 'unknown or rotated enrollment token';
        request.log.warn({ ip: request.ip, reason }, 'agent connection refused');
        try {
          await options.audit({ action: 'agent.connect', target: null, ip: request.ip, statusCode: 401, requestId: request.id, reason });
        } catch (error) {
          request.log.error({ err: error }, 'audit entry could not be written');
        }
        await reply
          .status(401)
          .type('application/json; charset=utf-8')
          .send({ error: { code: 'unauthorized', message: `agent refused: ${reason}` } });
      },
    },
    (socket, request) => {
      const workstation = enrolled.get(request);
      if (!workstation) {
        socket.close(1011, 'not authenticated');
        return;
      }
      options.gateway.accept(socket, workstation);
    },
  );
}
