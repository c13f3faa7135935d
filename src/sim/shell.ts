/**
 * The guest's `sh`, as far as tests need it: words with '…' and "…" quoting and `$?`, commands
 * joined by `;`, `&&` and `||`, `( … )` groups (a subshell: `exit` leaves only the group), and
 * `exit N`. Each command is run by the caller; unknown ones exit 127 as a POSIX shell's do.
 */

/** What one command printed and its exit status. */
export interface ShellOutcome {
  readonly lines: string[];
  readonly status: number;
}

export type CommandRunner = (program: string, args: string[]) => ShellOutcome;

type Token = { kind: 'word'; parts: WordPart[] } | { kind: 'op'; op: ';' | '&&' | '||' | '(' | ')' };
/** A word as written: literal text, or `$?` still to expand. */
type WordPart = string | { status: true };

type Node = { kind: 'command'; words: WordPart[][] } | { kind: 'group'; list: List };
interface List {
  items: { connector: ';' | '&&' | '||'; node: Node }[];
}

class ShellSyntaxError extends Error {}
class ShellExit extends Error {
  constructor(readonly status: number) {
    super(`exit ${status}`);
  }
}

export function runShellScript(script: string, run: CommandRunner): ShellOutcome {
  let list: List;
  try {
    list = parseList(tokenize(script), { at: 0 }, false);
  } catch (error) {
    if (error instanceof ShellSyntaxError) return { lines: [`/system/bin/sh: syntax error: ${error.message}`], status: 2 };
    throw error;
  }
  const lines: string[] = [];
  const state = { status: 0 };
  try {
    runList(list, run, lines, state);
  } catch (error) {
    if (error instanceof ShellExit) return { lines, status: error.status };
    throw error;
  }
  return { lines, status: state.status };
}

function runList(list: List, run: CommandRunner, lines: string[], state: { status: number }): void {
  for (const { connector, node } of list.items) {
    if (connector === '&&' && state.status !== 0) continue;
    if (connector === '||' && state.status === 0) continue;
    if (node.kind === 'group') {
      try {
        runList(node.list, run, lines, state);
      } catch (error) {
        if (!(error instanceof ShellExit)) throw error;
        state.status = error.status;
      }
      continue;
    }
    const words = node.words.map((parts) => parts.map((part) => (typeof part === 'string' ? part : String(state.status))).join(''));
    const [program, ...args] = words;
    if (program === undefined) continue;
    if (program === 'exit') throw new ShellExit(args[0] === undefined ? state.status : Number(args[0]) & 0xff);
    const outcome = run(program, args);
    lines.push(...outcome.lines);
    state.status = outcome.status;
  }
}

function parseList(tokens: Token[], cursor: { at: number }, inGroup: boolean): List {
  const items: List['items'] = [];
  let connector: ';' | '&&' | '||' = ';';
  let expectNode = true;
  while (cursor.at < tokens.length) {
    const token = tokens[cursor.at] as Token;
    if (token.kind === 'op' && token.op === ')') {
      if (!inGroup) throw new ShellSyntaxError("unexpected ')'");
      break;
    }
    if (token.kind === 'op' && token.op !== '(') {
      if (expectNode && token.op !== ';') throw new ShellSyntaxError(`unexpected '${token.op}'`);
      connector = token.op as ';' | '&&' | '||';
      expectNode = true;
      cursor.at += 1;
      continue;
    }
    if (!expectNode) throw new ShellSyntaxError('missing operator');
    items.push({ connector, node: parseNode(tokens, cursor) });
    expectNode = false;
  }
  if (inGroup) {
    const close = tokens[cursor.at];
    if (close?.kind !== 'op' || close.op !== ')') throw new ShellSyntaxError("missing ')'");
    cursor.at += 1;
  }
  return { items };
}

function parseNode(tokens: Token[], cursor: { at: number }): Node {
  const first = tokens[cursor.at] as Token;
  if (first.kind === 'op' && first.op === '(') {
    cursor.at += 1;
    return { kind: 'group', list: parseList(tokens, cursor, true) };
  }
  const words: WordPart[][] = [];
  while (cursor.at < tokens.length) {
    const token = tokens[cursor.at] as Token;
    if (token.kind === 'op') break;
    words.push(token.parts);
    cursor.at += 1;
  }
  return { kind: 'command', words };
}

function tokenize(script: string): Token[] {
  const tokens: Token[] = [];
  let parts: WordPart[] | undefined;
  const push = (part: WordPart) => (parts ??= []).push(part);
  const endWord = () => {
    if (parts !== undefined) tokens.push({ kind: 'word', parts });
    parts = undefined;
  };
  for (let i = 0; i < script.length; i++) {
    const char = script[i] as string;
    const next = script[i + 1];
    if (char === ' ' || char === '\t') endWord();
    else if (char === '\n' || char === ';') {
      endWord();
      tokens.push({ kind: 'op', op: ';' });
    } else if ((char === '&' && next === '&') || (char === '|' && next === '|')) {
      endWord();
      tokens.push({ kind: 'op', op: char === '&' ? '&&' : '||' });
      i += 1;
    } else if (char === '(' || char === ')') {
      endWord();
      tokens.push({ kind: 'op', op: char });
    } else if (char === '&' || char === '|' || char === '<' || char === '>' || char === '`') {
      throw new ShellSyntaxError(`'${char}' is not supported by this shell`);
    } else if (char === "'") {
      const end = script.indexOf("'", i + 1);
      if (end < 0) throw new ShellSyntaxError('unterminated quoted string');
      push(script.slice(i + 1, end));
      i = end;
    } else if (char === '"') {
      let j = i + 1;
      for (; j < script.length && script[j] !== '"'; j++) {
        if (script[j] === '\\' && j + 1 < script.length) push(script[++j] as string);
        else if (script[j] === '$' && script[j + 1] === '?') {
          push({ status: true });
          j += 1;
        } else push(script[j] as string);
      }
      if (j >= script.length) throw new ShellSyntaxError('unterminated quoted string');
      push('');
      i = j;
    } else if (char === '\\' && next !== undefined) {
      push(next);
      i += 1;
    } else if (char === '$' && next === '?') {
      push({ status: true });
      i += 1;
    } else push(char);
  }
  endWord();
  return tokens;
}
