// Slugs (CONTRACT §6): ^[a-z0-9][a-z0-9-]{1,62}$. When a client sends only a name (the existing
// front end does), derive one: transliterate Cyrillic (Ukrainian first), lowercase ASCII, dashes;
// a name with nothing usable falls back to a short random id.
import { shortId } from "../core/ids.js";

export const SLUG_RE = /^[a-z0-9][a-z0-9-]{1,62}$/;

// Ukrainian national transliteration (2010), plus the Russian letters it lacks.
const CYRILLIC: Record<string, string> = {
  а: "a", б: "b", в: "v", г: "h", ґ: "g", д: "d", е: "e", є: "ie", ж: "zh", з: "z", и: "y", і: "i",
  ї: "i", й: "i", к: "k", л: "l", м: "m", н: "n", о: "o", п: "p", р: "r", с: "s", т: "t", у: "u",
  ф: "f", х: "kh", ц: "ts", ч: "ch", ш: "sh", щ: "shch", ь: "", ю: "iu", я: "ia", "'": "", "’": "",
  ё: "e", ы: "y", э: "e", ъ: "",
};

export function slugFromName(name: string): string {
  const latin = [...name.toLowerCase()].map((c) => CYRILLIC[c] ?? c).join("");
  const ascii = latin.normalize("NFKD").replace(/[\u0300-\u036f]/g, "");
  const slug = ascii.replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 63).replace(/-+$/, "");
  return SLUG_RE.test(slug) ? slug : `room-${shortId()}`;
}
