/**
 * The logger the agent writes to. pino's loggers fit it; tests pass `silentLogger` or collect
 * lines in an array.
 */
export interface AgentLogger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

const ignore = (): void => undefined;

export const silentLogger: AgentLogger = { debug: ignore, info: ignore, warn: ignore, error: ignore };

/** A short, loggable description of anything thrown. */
export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
