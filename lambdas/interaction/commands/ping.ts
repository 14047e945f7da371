import type { Command } from './types';

/** `/ping`: answered directly in the interaction callback. */
export const ping: Command = {
  definition: { name: 'ping', description: 'Check that the bot answers' },
  mode: 'fast',
  selfContained: true,
  run: () => Promise.resolve({ content: 'Pong!' }),
};
