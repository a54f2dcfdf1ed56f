import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, parseConfig } from '../configure';
import type { Config } from '../config/schema';
import type { PolicyRegistry } from '../policy/registry';
import type { SignerRegistry } from '../signing/registry';

export interface Candidate {
  readonly config: Config;
  /** The file's text as the operator wrote it (what promotion writes). */
  readonly text: string;
  readonly file: string;
  /** Identifies this rollout: the rollout section and the candidate's text. */
  readonly id: string;
}

/**
 * Reads and validates a live config's rollout candidate (a full config, validated like the live one,
 * relative paths against its own folder). Read synchronously: it happens when a config is applied
 * (start, reload), never on a request. Every problem is a ConfigError at `rollout.candidate`.
 */
export function readCandidate(
  live: Config,
  registry: PolicyRegistry,
  /** Signers supplied in process (RuntimeOptions.signers), which the candidate may name as the live config does. */
  signers?: SignerRegistry,
): Candidate | undefined {
  const rollout = live.rollout;
  if (rollout === undefined) return undefined;
  const file = rollout.candidate;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([
      { path: 'rollout.candidate', message: `cannot read ${file}: ${(err as Error).message}` },
    ]);
  }
  let config: Config;
  try {
    config = parseConfig(text, { source: file, baseDir: path.dirname(file), policies: registry, signers });
  } catch (err) {
    if (err instanceof ConfigError)
      throw new ConfigError(
        err.issues.map((i) => ({ path: `rollout.candidate (${file}) ${i.path}`.trim(), message: i.message })),
      );
    throw err;
  }
  const issues = compatibility(live, config);
  if (issues.length > 0)
    throw new ConfigError(issues.map((message) => ({ path: 'rollout.candidate', message })));
  const id = createHash('sha256')
    .update(JSON.stringify(rollout))
    .update('\u0000')
    .update(text)
    .digest('hex')
    .slice(0, 16);
  return { config, text, file, id };
}

/** What a candidate may not do while it runs beside the live config. */
export function compatibility(live: Config, candidate: Config): string[] {
  const issues: string[] = [];
  if (candidate.rollout !== undefined)
    issues.push('the candidate has a rollout section of its own (one rollout at a time)');
  if (!candidate.secrets.includes(live.secrets[0] as string))
    issues.push(
      "the candidate's secrets do not include the live config's first secret: once promoted it would refuse every session's token",
    );
  const liveCdns = new Set(live.cdns.map((c) => c.id));
  for (const c of candidate.cdns)
    if (!liveCdns.has(c.id))
      issues.push(
        `the candidate's CDN "${c.id}" is not in the live config: add it there first (it must be probed before sessions go to it)`,
      );
  return issues;
}
