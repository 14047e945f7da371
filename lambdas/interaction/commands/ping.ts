import type { Command } from './types';

/** `/ping`: answered directly in the interaction callback. */
export const ping: Command = {
  definition: { name: 'ping', description: 'Check that the bot answers' },
  mode: 'fast',
  async run() {
    return { content: 'Pong!' };
  },
};
