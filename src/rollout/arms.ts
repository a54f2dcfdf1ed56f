import { unitHash } from '../policy/hash';

export type Arm = 'control' | 'canary';

/**
 * The arm a session is in: weighted rendezvous hashing of the session id over the two arms (canary
 * weighted `share`, control `1 - share`), salted with the rollout's id. Sticky: a session keeps its
 * arm for the whole rollout, and raising the share only moves control sessions into the canary
 * (the canary wins iff share/(1-share) exceeds a ratio fixed by the session's two hashes).
 */
export function armOf(sessionId: string, share: number, salt: string): Arm {
  if (share <= 0) return 'control';
  if (share >= 1) return 'canary';
  const canary = -share / Math.log(unitHash(sessionId + '\u0000canary\u0000' + salt));
  const control = -(1 - share) / Math.log(unitHash(sessionId + '\u0000control\u0000' + salt));
  return canary > control ? 'canary' : 'control';
}
