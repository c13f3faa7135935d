/**
 * How requests are validated: bodies exactly as sent (no coercion, `"42"` is not `42` and `["admin"]`
 * is not `"admin"`), query strings coerced (they are text by nature), and every object of a body or
 * query schema closed unless it says `additionalProperties` itself, so an unknown field is refused
 * with its name rather than silently dropped. New routes get this without doing anything.
 */
import AjvCompiler from '@fastify/ajv-compiler';
import type { FastifyServerOptions } from 'fastify';

const STRICT = { coerceTypes: false, removeAdditional: false, useDefaults: true, allErrors: false, strictNumbers: true } as const;
const QUERY = { ...STRICT, coerceTypes: 'array' } as const;

/** The request parts whose schemas are closed; headers stay open (clients and proxies add many). */
const CLOSED_PARTS = new Set(['body', 'querystring']);

type JsonSchema = Record<string, unknown>;

const isSchema = (value: unknown): value is JsonSchema => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * A copy of `schema` with `additionalProperties: false` on every object that does not decide
 * itself. Members of `allOf` are left open: closing each part of an intersection would refuse the
 * other parts' fields (use TypeBox's `Type.Composite` for a closed merge).
 */
export function closeSchema(schema: unknown, close = true): unknown {
  if (Array.isArray(schema)) return schema.map((item) => closeSchema(item, close));
  if (!isSchema(schema)) return schema;
  const copy: JsonSchema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'properties' || key === 'patternProperties' || key === '$defs' || key === 'definitions') {
      copy[key] = isSchema(value) ? Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, closeSchema(sub)])) : value;
    } else if (key === 'allOf') {
      copy[key] = Array.isArray(value) ? value.map((item) => closeSchema(item, false)) : value;
    } else if (key === 'items' || key === 'anyOf' || key === 'oneOf' || key === 'not' || key === 'additionalProperties' || key === 'prefixItems') {
      copy[key] = closeSchema(value);
    } else {
      copy[key] = value;
    }
  }
  const isObject = copy.type === 'object' || (copy.type === undefined && isSchema(copy.properties));
  if (close && isObject && copy.additionalProperties === undefined && copy.unevaluatedProperties === undefined) {
    copy.additionalProperties = false;
  }
  return copy;
}

/** What the compiler gets per route part (the package's own types describe a plain Ajv compile). */
interface RoutePart {
  schema: unknown;
  method: string;
  url: string;
  httpPart?: string;
}
type CompileRoutePart = (route: RoutePart) => unknown;
const pool = AjvCompiler() as unknown as (externalSchemas: unknown, options: { customOptions: object }) => CompileRoutePart;

function buildValidator(externalSchemas: unknown): CompileRoutePart {
  const strict = pool(externalSchemas, { customOptions: STRICT });
  const coercing = pool(externalSchemas, { customOptions: QUERY });
  return (route) => {
    const schema = CLOSED_PARTS.has(route.httpPart ?? '') ? closeSchema(route.schema) : route.schema;
    return (route.httpPart === 'body' ? strict : coercing)({ ...route, schema });
  };
}

type SchemaController = NonNullable<FastifyServerOptions['schemaController']>;
type ValidatorFactory = NonNullable<NonNullable<SchemaController['compilersFactory']>['buildValidator']>;

/** The `schemaController` option of the Fastify app: strict bodies, coerced queries, closed objects. */
export const schemaController: SchemaController = {
  compilersFactory: { buildValidator: buildValidator as unknown as ValidatorFactory },
};

interface ValidationIssue {
  instancePath: string;
  keyword: string;
  message?: string | undefined;
  params: Record<string, unknown>;
}

/** The path of the value an issue is about: for an unknown field, the field itself. */
export function issuePath(issue: ValidationIssue): string {
  const extra = issue.params.additionalProperty;
  return issue.keyword === 'additionalProperties' && typeof extra === 'string' ? `${issue.instancePath}/${extra}` : issue.instancePath;
}

export function issueMessage(issue: ValidationIssue): string {
  if (issue.keyword === 'additionalProperties') return 'is not a known field';
  return issue.message ?? 'is invalid';
}

/** `schemaErrorFormatter`: "body/settings/memory is not a known field", "body/name must be string". */
export function formatSchemaErrors(errors: readonly ValidationIssue[], dataVar: string): Error {
  const text = errors.map((issue) => `${dataVar}${issuePath(issue)} ${issueMessage(issue)}`).join('; ');
  return new Error(text || `${dataVar} is invalid`);
}
