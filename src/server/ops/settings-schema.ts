/**
 * What `modify` accepts, with the bounds of ldconsole-reference §3.4, checked by the route
 * schema so a bad value is a 400 before anything is queued. The same bounds as the driver's
 * (src/ldconsole/args.ts); the server does not import the driver, which lives on the agents.
 */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';

export const MEMORY_SIZES_MB = [256, 512, 768, 1024, 1536, 2048, 4096, 8192] as const;

const autoOr = (pattern: string, what: string) =>
  Type.String({ pattern: `^(auto|${pattern})$`, description: `"auto" or ${what}` });

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
    manufacturer: Type.Optional(Type.String({ pattern: '^[^\\s,"]{1,64}$', description: '1-64 characters without spaces, commas or quotes' })),
    model: Type.Optional(Type.String({ pattern: '^[^\\r\\n\\u0000",]{1,64}$', description: '1-64 characters without commas or quotes' })),
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
export type SettingsInputBody = Static<typeof SettingsInputSchema>;

/** An instance title: what `add --name` and `rename --title` accept safely (no commas: list2 is CSV). */
export const InstanceNameSchema = Type.String({ minLength: 1, maxLength: 64, pattern: '^[^,\\r\\n\\u0000"]+$' });
export const PackageNameSchema = Type.String({ minLength: 1, maxLength: 256, pattern: '^[A-Za-z][A-Za-z0-9_]*(\\.[A-Za-z0-9_]+)+$' });
export const ShellCommandSchema = Type.String({ minLength: 1, maxLength: 8000, pattern: '^[^\\u0000]*$' });
