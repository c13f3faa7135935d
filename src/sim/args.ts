/** `--key value` options as ldconsole takes them; a key with no value (at the end or before another `--key`) maps to ''. */
export type Options = Map<string, string>;

export function parseOptions(argv: readonly string[]): Options {
  const options: Options = new Map();
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] ?? '';
    if (!token.startsWith('--')) continue; // stray words are ignored, like unknown options
    const next = argv[i + 1];
    if (next !== undefined && !/^--[A-Za-z]/.test(next)) {
      options.set(token.slice(2), next);
      i++;
    } else {
      options.set(token.slice(2), '');
    }
  }
  return options;
}

/**
 * Splits a command line the way a POSIX shell would for simple cases: whitespace separates words,
 * single quotes are literal, double quotes allow backslash escapes.
 */
export function splitCommandLine(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i] ?? '';
    if (ch === "'") {
      const end = line.indexOf("'", i + 1);
      const stop = end === -1 ? line.length : end;
      word += line.slice(i + 1, stop);
      i = stop;
      inWord = true;
    } else if (ch === '"') {
      i++;
      while (i < line.length && line[i] !== '"') {
        if (line[i] === '\\' && i + 1 < line.length && '"\\$`'.includes(line[i + 1] ?? '')) i++;
        word += line[i];
        i++;
      }
      inWord = true;
    } else if (ch === '\\' && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}
