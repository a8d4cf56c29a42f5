// Input schemas of Second Me, shared by REST and any socket route to it.
import { z } from "zod";
import { text } from "../core/text.js";

export const invokeInput = z.object({ prompt: text(1, 8000) });
export type InvokeInput = z.infer<typeof invokeInput>;
