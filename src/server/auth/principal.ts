import type { Role } from './roles.js';

/** Who is calling, resolved afresh from the database on every request. */
export interface Principal {
  userId: string;
  username: string;
  /** The role this request acts with: the user's role, lowered to an API token's role. */
  role: Role;
  via: 'access' | 'api-token';
  sessionId?: string;
  tokenId?: string;
  /** When the credential stops working (ms since the epoch): the access token's or API token's expiry. */
  expiresAt?: number;
}
