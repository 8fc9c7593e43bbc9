// The part of Telegram's Update object (core.telegram.org/bots/api#update) the webhook reads.
// Loose objects: Telegram adds fields over time, and an unknown field must not fail an update.
import { z } from "zod";

const User = z.looseObject({ id: z.number().int(), username: z.string().max(64).optional(), first_name: z.string().max(256).optional() });
const Chat = z.looseObject({ id: z.number().int(), type: z.string().max(32), title: z.string().max(256).optional() });

export const TelegramUpdate = z.looseObject({
  update_id: z.number().int().nonnegative(),
  message: z
    .looseObject({
      message_id: z.number().int(),
      chat: Chat,
      from: User.optional(),
      text: z.string().max(4096).optional(),
    })
    .optional(),
  callback_query: z
    .looseObject({
      id: z.string().min(1).max(200),
      from: User,
      message: z.looseObject({ message_id: z.number().int(), chat: Chat }).optional(),
      data: z.string().max(64).optional(),
    })
    .optional(),
});
export type TelegramUpdate = z.infer<typeof TelegramUpdate>;

/** PUT /telegram/chats/:chat_id: the allowlist entry. */
export const ChatInput = z.strictObject({
  title: z.string().max(200).default(""),
  alerts: z.boolean().default(true),
  can_read: z.boolean().default(true),
  can_act: z.boolean().default(false),
});
export type ChatInput = z.infer<typeof ChatInput>;

export const ChatId = z.coerce.number().int().refine((n) => n !== 0 && Number.isSafeInteger(n), "a Telegram chat id");
