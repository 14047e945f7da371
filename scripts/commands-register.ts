/**
 * `npm run commands:register`: registers the command registry with Discord (bulk overwrite,
 * PUT /applications/{app}/commands). Env: DISCORD_APPLICATION_ID, the bot token as DISCORD_TOKEN or
 * DISCORD_TOKEN_SECRET_ARN (the BotTokenSecretArn output; read with the caller's AWS credentials), and
 * DISCORD_API_URL (optional, e.g. the simulator's restUrl).
 */
import { REST } from '@discordjs/rest';
import { Routes } from 'discord-api-types/v10';
import { COMMANDS } from '../lambdas/interaction/commands';
import { botToken } from '../lambdas/shared/bot-rest';
import type { WorkerConfig } from '../lambdas/shared/config';
import { errorMessage } from '../lib/contract';

async function main() {
  const app = process.env.DISCORD_APPLICATION_ID;
  const hasToken = Boolean(process.env.DISCORD_TOKEN || process.env.DISCORD_TOKEN_SECRET_ARN);
  const missing = [!hasToken && 'DISCORD_TOKEN (or DISCORD_TOKEN_SECRET_ARN)', !app && 'DISCORD_APPLICATION_ID'].filter(Boolean);
  if (missing.length) throw new Error(`set ${missing.join(' and ')} (the bot token and the application id from the developer portal)`);
  if (app === undefined || !/^\d{17,20}$/.test(app)) throw new Error(`DISCORD_APPLICATION_ID must be a snowflake, got ${JSON.stringify(app)}`);
  const token = await botToken({ DISCORD_TOKEN: process.env.DISCORD_TOKEN, DISCORD_TOKEN_SECRET_ARN: process.env.DISCORD_TOKEN_SECRET_ARN } as WorkerConfig);
  const rest = new REST({ api: process.env.DISCORD_API_URL ?? 'https://discord.com/api' }).setToken(token);
  const body = COMMANDS.map((c) => c.definition);
  const out = (await rest.put(Routes.applicationCommands(app), { body })) as Array<{ name: string; id: string }>;
  console.log(`registered ${out.length} commands: ${out.map((c) => `/${c.name}`).join(', ')}`);
}

main().catch((err: unknown) => {
  console.error(`commands:register failed: ${errorMessage(err)}`);
  process.exit(1);
});
