/**
 * The values of discord-api-spec's enums that the REST answers use. The package declares its enums as
 * `const enum`s in an ESM-only module: this CommonJS code cannot load their objects at run time, and
 * isolatedModules keeps tsc from inlining them. So each value is written out once here, typed as the
 * spec's member, and tsc checks the number against that member. Each line assigns a plain value to an
 * enum type, which is what the lint rule guards against; here it is the only way to name the member.
 */
import type {
  AfkTimeouts,
  ApplicationCommandType,
  ApplicationExplicitContentFilterTypes,
  ApplicationIntegrationType,
  AvailableLocalesEnum,
  ChannelTypes,
  GuildExplicitContentFilterTypes,
  GuildMFALevel,
  GuildNSFWContentLevel,
  InteractionTypes,
  MessageType,
  OAuth2Scopes,
  PremiumGuildTiers,
  UserNotificationSettings,
  VerificationLevels,
} from 'discord-api-spec';

// eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- the member's value, see the header
export const EN_US = 'en-US' as AvailableLocalesEnum;
// eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- the member's value, see the header
export const SCOPE_APPLICATIONS_COMMANDS = 'applications.commands' as OAuth2Scopes.APPLICATIONS_COMMANDS;
// eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- the member's value, see the header
export const SCOPE_BOT = 'bot' as OAuth2Scopes.BOT;
// eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- the member's value, see the header
export const APP_EXPLICIT_CONTENT_FILTER_INHERIT: ApplicationExplicitContentFilterTypes.INHERIT = 0;
// eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- the member's value, see the header
export const AFK_FIVE_MINUTES: AfkTimeouts.FIVE_MINUTES = 300;
// eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- the member's value, see the header
export const VERIFICATION_NONE: VerificationLevels.NONE = 0;
// eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- the member's value, see the header
export const NOTIFY_ALL_MESSAGES: UserNotificationSettings.ALL_MESSAGES = 0;
// eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- the member's value, see the header
export const MFA_NONE: GuildMFALevel.NONE = 0;
// eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- the member's value, see the header
export const EXPLICIT_CONTENT_FILTER_DISABLED: GuildExplicitContentFilterTypes.DISABLED = 0;
// eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- the member's value, see the header
export const PREMIUM_TIER_NONE: PremiumGuildTiers.NONE = 0;
// eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- the member's value, see the header
export const NSFW_DEFAULT: GuildNSFWContentLevel.DEFAULT = 0;
// eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- the member's value, see the header
export const CHANNEL_GUILD_TEXT: ChannelTypes.GUILD_TEXT = 0;
// eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- the member's value, see the header
export const CHANNEL_GUILD_VOICE: ChannelTypes.GUILD_VOICE = 2;
// eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- the member's value, see the header
export const MESSAGE_DEFAULT: MessageType.DEFAULT = 0;
// eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- the member's value, see the header
export const MESSAGE_CHAT_INPUT_COMMAND: MessageType.CHAT_INPUT_COMMAND = 20;
// eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- the member's value, see the header
export const COMMAND_CHAT: ApplicationCommandType.CHAT = 1;
// eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- the member's value, see the header
export const GUILD_INSTALL: ApplicationIntegrationType.GUILD_INSTALL = 0;
// eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- the member's value, see the header
export const INTERACTION_APPLICATION_COMMAND: InteractionTypes.APPLICATION_COMMAND = 2;
