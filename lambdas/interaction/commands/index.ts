/** The command registry: add a command by writing one file and listing it here. */
import { checkEligibility } from './check-eligibility';
import { ping } from './ping';
import { stats } from './stats';
import { syncMembers } from './sync-members';
import type { Command } from './types';

export const COMMANDS: readonly Command[] = [ping, checkEligibility, stats, syncMembers];

export const commandRegistry = (commands: readonly Command[] = COMMANDS): ReadonlyMap<string, Command> => {
  const m = new Map<string, Command>();
  for (const c of commands) {
    if (m.has(c.definition.name)) throw new Error(`two commands are named /${c.definition.name}`);
    m.set(c.definition.name, c);
  }
  return m;
};
