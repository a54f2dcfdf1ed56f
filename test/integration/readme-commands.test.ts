import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The commands the docs tell a newcomer to type, held to the code: every `npm run X` is a script,
 * every `npx X` a binary the dev dependencies install (npx would otherwise fetch an unknown package
 * from the registry), every `npx jest PATH` an existing file, and every `switchyard CMD --flag`
 * (or `node dist/src/cli.js CMD --flag`, `npm run loadtest -- --flag`) a command and an option that
 * command's --help lists; the files those commands are given exist.
 */

const ROOT = path.join(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist', 'src', 'cli.js');
const DOCS = ['README.md', 'ARCHITECTURE.md', 'docs/policies.md'];
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
};

/** Shell words of one command line: quotes kept together, an unquoted `#` word ends the line. */
function shellWords(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let quote: string | null = null;
  let inWord = false;
  for (const ch of line) {
    if (quote !== null) {
      if (ch === quote) quote = null;
      else word += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else if (ch === '#' && !inWord) {
      break;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

interface Command {
  doc: string;
  line: number;
  words: string[];
}

/** Every command in the docs' code: fenced blocks (continuations joined) and inline code spans. */
function commands(): Command[] {
  const out: Command[] = [];
  for (const doc of DOCS) {
    const lines = readFileSync(path.join(ROOT, doc), 'utf8').split('\n');
    let fenced = false;
    let pending: { text: string; line: number } | undefined;
    const push = (text: string, line: number) => {
      for (const part of text.split(/&&|\|\||;/)) {
        const words = shellWords(part.trim());
        if (words.length > 0) out.push({ doc, line, words });
      }
    };
    lines.forEach((raw, i) => {
      if (/^```/.test(raw)) {
        fenced = !fenced;
        return;
      }
      if (fenced) {
        const text = (pending ? pending.text + ' ' : '') + raw.trim();
        const at = pending?.line ?? i + 1;
        if (text.endsWith('\\')) pending = { text: text.slice(0, -1), line: at };
        else {
          pending = undefined;
          push(text, at);
        }
        return;
      }
      for (const m of raw.matchAll(/`((?:switchyard|npm|npx|node dist\/src\/cli\.js) [^`]+)`/g))
        push(m[1] as string, i + 1);
    });
  }
  return out;
}

const helpCache = new Map<string, string>();
function helpOf(cmd: string): string {
  let help = helpCache.get(cmd);
  if (help === undefined) {
    const res = spawnSync(process.execPath, [CLI, cmd, '--help'], { encoding: 'utf8', timeout: 20_000 });
    help = res.status === 0 ? res.stdout : `(exit ${res.status}) ${res.stderr}`;
    helpCache.set(cmd, help);
  }
  return help;
}

/** The CLI invocation a command line makes, if it is one: the subcommand and its arguments. */
function cliCall(words: string[]): { cmd: string; args: string[] } | undefined {
  if (words[0] === 'switchyard') return { cmd: words[1] ?? '', args: words.slice(2) };
  if (words[0] === 'node' && words[1] === 'dist/src/cli.js')
    return { cmd: words[2] ?? '', args: words.slice(3) };
  if (words[0] === 'npm' && words[1] === 'run' && words[2] === 'loadtest')
    return { cmd: 'loadtest', args: words.slice(words.indexOf('--') + 1) };
  return undefined;
}

const all = commands();
const where = (c: Command) => `${c.doc}:${c.line} ${c.words.join(' ')}`;

test('the docs name enough commands for this check to mean something', () => {
  expect(all.filter((c) => cliCall(c.words) !== undefined).length).toBeGreaterThanOrEqual(15);
  expect(all.filter((c) => c.words[0] === 'npm' || c.words[0] === 'npx').length).toBeGreaterThanOrEqual(8);
});

test('every npm script and npx binary the docs name exists', () => {
  const problems: string[] = [];
  for (const c of all) {
    const [w0, w1, w2] = c.words;
    if (w0 === 'npm' && w1 === 'run' && w2 !== undefined && !(w2 in pkg.scripts))
      problems.push(`${where(c)}: no script "${w2}"`);
    if (w0 === 'npm' && (w1 === 'start' || w1 === 'test') && !(w1 in pkg.scripts))
      problems.push(`${where(c)}: no script "${w1}"`);
    if (w0 === 'npx' && w1 === 'jest')
      for (const p of c.words.slice(2).filter((w) => !w.startsWith('-') && w.includes('/')))
        if (!existsSync(path.join(ROOT, p))) problems.push(`${where(c)}: no file ${p}`);
  }
  // Anywhere in the docs, comments and prose included: npx runs only what npm ci installed.
  for (const doc of DOCS)
    for (const m of readFileSync(path.join(ROOT, doc), 'utf8').matchAll(/\bnpx ([a-z][\w.-]*)/g))
      if (!existsSync(path.join(ROOT, 'node_modules', '.bin', m[1] as string)))
        problems.push(`${doc}: "npx ${m[1]}": not installed by npm ci (npx would download it)`);
  expect(problems).toEqual([]);
});

test("every switchyard command and option the docs use is in that command's --help", () => {
  const known = ['serve', 'demo', 'fixtures', 'check-config', 'loadtest', 'decisions', 'whatif'];
  const problems: string[] = [];
  for (const c of all) {
    const call = cliCall(c.words);
    // `switchyard --help | --version`, `switchyard COMMAND --help`: the top level and placeholders.
    if (call === undefined || call.cmd.startsWith('-') || /^[A-Z]+$/.test(call.cmd)) continue;
    if (!known.includes(call.cmd)) {
      problems.push(`${where(c)}: unknown command "${call.cmd}"`);
      continue;
    }
    const help = helpOf(call.cmd);
    for (const arg of call.args) {
      const flag = /^(--[a-z][a-z-]*)/.exec(arg.replace(/^\[/, ''))?.[1];
      if (flag === undefined) continue;
      if (!new RegExp(`(?<![\\w-])${flag}(?![\\w-])`).test(help))
        problems.push(`${where(c)}: ${call.cmd} --help does not list ${flag}`);
    }
  }
  expect(problems).toEqual([]);
});

test('the repository files those commands are given exist', () => {
  const problems: string[] = [];
  for (const c of all) {
    if (cliCall(c.words) === undefined) continue;
    for (const w of c.words)
      if (
        /^(examples|deploy|fixtures|docs)\/\S+\.(ya?ml|js|json)$/.test(w) &&
        !existsSync(path.join(ROOT, w))
      )
        problems.push(`${where(c)}: no file ${w}`);
  }
  expect(problems).toEqual([]);
});

test('every README "Section" the code, configs and docs point a reader to is a heading of the README', () => {
  const headings = readFileSync(path.join(ROOT, 'README.md'), 'utf8')
    .split('\n')
    .filter((l) => /^#{1,6} /.test(l))
    .map((l) => l.replace(/^#+ /, ''));
  const files = ['ARCHITECTURE.md', 'Dockerfile', 'CHANGELOG.md'];
  for (const dir of ['src', 'fixtures', 'examples', 'deploy', 'docs', 'bench', 'test'])
    for (const f of readdirSync(path.join(ROOT, dir), { recursive: true }) as string[])
      if (/\.(ts|js|ya?ml|json|md)$/.test(f) && !f.startsWith('media')) files.push(path.join(dir, f));
  const refs: string[] = [];
  const problems: string[] = [];
  // This file names the pattern itself, not a section.
  for (const f of files.filter((f) => f !== path.relative(ROOT, __filename))) {
    const text = readFileSync(path.join(ROOT, f), 'utf8');
    for (const m of text.matchAll(/README "([^"\n]+)"/g)) {
      const title = m[1] as string;
      refs.push(title);
      if (!headings.some((h) => h.startsWith(title))) problems.push(`${f}: README "${title}" is no heading`);
    }
  }
  expect(refs.length).toBeGreaterThanOrEqual(10);
  expect(problems).toEqual([]);
});
