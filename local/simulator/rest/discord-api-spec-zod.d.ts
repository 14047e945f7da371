// discord-api-spec ships its zod schemas as plain JS without declarations; spec.ts types what it uses.
declare module 'discord-api-spec/zod';
