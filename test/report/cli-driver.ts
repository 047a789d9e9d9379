// Runs the report area's commands the way src/cli/main.ts does, for the CLI tests (until main.ts lists 'report').
import { Command } from 'commander';
import { register } from '../../src/cli/report.ts';

const program = new Command().name('lmlab').showHelpAfterError();
register(program);
await program.parseAsync(process.argv);
