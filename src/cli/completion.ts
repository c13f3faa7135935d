/**
 * `ldfleet completion bash|zsh|powershell`: a completion script made from the command tree
 * itself, so it never falls behind the commands. zsh uses the bash script via bashcompinit.
 */
import type { Command } from 'commander';
import { usageError } from './exit-codes.js';

/** Command path (space-joined, root "") → the words that may follow it. */
function wordTable(program: Command): Map<string, string[]> {
  const table = new Map<string, string[]>();
  const globals = program.options.map((option) => option.long).filter((long): long is string => long !== undefined);
  const visit = (command: Command, path: string) => {
    const words = [
      ...command.commands.flatMap((sub) => [sub.name(), ...sub.aliases()]),
      ...command.options.map((option) => option.long).filter((long): long is string => long !== undefined),
      ...(path === '' ? [] : globals),
      '--help',
    ];
    table.set(path, [...new Set(words)]);
    for (const sub of command.commands) {
      for (const name of [sub.name(), ...sub.aliases()]) visit(sub, path === '' ? name : `${path} ${name}`);
    }
  };
  visit(program, '');
  return table;
}

function bash(program: Command): string {
  const entries = [...wordTable(program)].map(([path, words]) => `  [${JSON.stringify(`_${path ? ` ${path}` : ''}`)}]=${JSON.stringify(words.join(' '))}`);
  return `# ldfleet completion for bash; add to ~/.bashrc:  source <(ldfleet completion bash)
declare -gA _ldfleet_words=(
${entries.join('\n')}
)
_ldfleet() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path="_" i w
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    [[ -n "\${_ldfleet_words[$path $w]+x}" ]] && path="$path $w"
  done
  COMPREPLY=($(compgen -W "\${_ldfleet_words[$path]}" -- "$cur"))
}
complete -o default -F _ldfleet ldfleet
`;
}

function zsh(program: Command): string {
  return `# ldfleet completion for zsh; add to ~/.zshrc:  source <(ldfleet completion zsh)
autoload -U +X compinit && compinit
autoload -U +X bashcompinit && bashcompinit
${bash(program).split('\n').slice(1).join('\n')}`;
}

function powershell(program: Command): string {
  const entries = [...wordTable(program)].map(([path, words]) => `  '${path}' = @(${words.map((word) => `'${word}'`).join(', ')})`);
  return `# ldfleet completion for PowerShell; add to $PROFILE:  ldfleet completion powershell | Out-String | Invoke-Expression
$ldfleetWords = @{
${entries.join('\n')}
}
Register-ArgumentCompleter -Native -CommandName ldfleet -ScriptBlock {
  param($wordToComplete, $commandAst, $cursorPosition)
  $path = ''
  foreach ($element in $commandAst.CommandElements | Select-Object -Skip 1) {
    $text = $element.ToString()
    if ($element.Extent.EndOffset -ge $cursorPosition) { break }
    $next = if ($path) { "$path $text" } else { $text }
    if ($ldfleetWords.ContainsKey($next)) { $path = $next }
  }
  $ldfleetWords[$path] | Where-Object { $_ -like "$wordToComplete*" } | ForEach-Object {
    [System.Management.Automation.CompletionResult]::new($_, $_, 'ParameterValue', $_)
  }
}
`;
}

export function addCompletionCommand(program: Command): void {
  program
    .command('completion <shell>')
    .description('print a shell completion script: bash, zsh or powershell')
    .action((shell: string) => {
      const scripts: Record<string, (program: Command) => string> = { bash, zsh, powershell, pwsh: powershell };
      const make = scripts[shell.toLowerCase()];
      if (!make) throw usageError(`completion for "${shell}": use bash, zsh or powershell`);
      process.stdout.write(make(program));
    });
}
