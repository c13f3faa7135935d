import { createHash, randomBytes } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';

/** Prefixes tell what an opaque token is for; only API tokens are accepted as `Bearer ldf_…`. */
export const API_TOKEN_PREFIX = 'ldf_';
export const REFRESH_TOKEN_PREFIX = 'ldf_rt_';
export const ENROLLMENT_TOKEN_PREFIX = 'ldf_ws_';

/** A new opaque token: the prefix then 32 random bytes in base64url. */
export function newOpaqueToken(prefix: string): string {
  return prefix + randomBytes(32).toString('base64url');
}

/** Opaque tokens are stored only as this SHA-256 digest; 256 random bits need no salt or slow hash. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

const ISSUER = 'ldfleet';
/** The JOSE header type of access tokens (RFC 9068); nothing else this server signs carries it. */
const ACCESS_TYPE = 'at+jwt';

export interface AccessClaims {
  userId: string;
  sessionId: string;
  /** ms since the epoch; set on verified tokens. */
  expiresAt?: number;
}

export class AccessTokens {
  private readonly key: Uint8Array;

  constructor(
    secret: string,
    private readonly ttlSeconds: number,
  ) {
    this.key = new TextEncoder().encode(secret);
  }

  get expiresIn(): number {
    return this.ttlSeconds;
  }

  sign(claims: AccessClaims): Promise<string> {
    return new SignJWT({ sid: claims.sessionId, token_use: 'access' })
      .setProtectedHeader({ alg: 'HS256', typ: ACCESS_TYPE })
      .setSubject(claims.userId)
      .setIssuer(ISSUER)
      .setIssuedAt()
      .setJti(randomBytes(12).toString('base64url'))
      .setExpirationTime(`${this.ttlSeconds}s`)
      .sign(this.key);
  }

  /** The claims of a valid, unexpired access token, or null for anything else. */
  async verify(token: string): Promise<AccessClaims | null> {
    try {
      const { payload } = await jwtVerify(token, this.key, {
        algorithms: ['HS256'],
        issuer: ISSUER,
        typ: ACCESS_TYPE,
        requiredClaims: ['sub', 'exp', 'sid'],
      });
      if (payload.token_use !== 'access' || typeof payload.sid !== 'string' || typeof payload.sub !== 'string') {
        return null;
      }
      return { userId: payload.sub, sessionId: payload.sid, ...(typeof payload.exp === 'number' ? { expiresAt: payload.exp * 1000 } : {}) };
    } catch {
      return null;
    }
  }
}
