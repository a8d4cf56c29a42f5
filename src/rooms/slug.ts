// Slugs (CONTRACT §6): ^[a-z0-9][a-z0-9-]{1,62}$. When a client sends only a name (the existing
// front end does), derive one: transliterate Cyrillic (Ukrainian first), lowercase ASCII, dashes;
// a name with nothing usable falls back to a short random id.
import { shortId } from "../core/ids.js";

export const SLUG_RE = /^[a-z0-9][a-z0-9-]{1,62}$/;

// Ukrainian national transliteration (Cabinet of Ministers resolution 55, 2010), plus the
// Russian letters it lacks. Apostrophes (', ’, ʼ) are dropped.
const CYRILLIC: Record<string, string> = {
  а: "a", б: "b", в: "v", г: "h", ґ: "g", д: "d", е: "e", є: "ie", ж: "zh", з: "z", и: "y", і: "i",
  ї: "i", й: "i", к: "k", л: "l", м: "m", н: "n", о: "o", п: "p", р: "r", с: "s", т: "t", у: "u",
  ф: "f", х: "kh", ц: "ts", ч: "ch", ш: "sh", щ: "shch", ь: "", ю: "iu", я: "ia", "'": "", "’": "",
  "ʼ": "", ё: "e", ы: "y", э: "e", ъ: "",
};

// The same resolution spells these letters differently at the start of a word (Євген → Yevhen,
// Юрій → Yurii, Їжакевич → Yizhakevych, Йосип → Yosyp, Яготин → Yahotyn).
const WORD_INITIAL: Record<string, string> = { є: "ye", ї: "yi", й: "y", ю: "yu", я: "ya" };

const isLetter = (c: string | undefined) => c !== undefined && /[\p{L}'’ʼ]/u.test(c);

function transliterate(lower: string): string {
  const chars = [...lower];
  let out = "";
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    const initial = !isLetter(chars[i - 1]) ? WORD_INITIAL[c] : undefined;
    // "зг" is written "zgh" so it does not read as the digraph "zh" (Згорани → Zghorany).
    if (c === "г" && chars[i - 1] === "з") out += "gh";
    else out += initial ?? CYRILLIC[c] ?? c;
  }
  return out;
}

export function slugFromName(name: string): string {
  const latin = transliterate(name.toLowerCase());
  const ascii = latin.normalize("NFKD").replace(/[\u0300-\u036f]/g, "");
  const slug = ascii.replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 63).replace(/-+$/, "");
  return SLUG_RE.test(slug) ? slug : `room-${shortId()}`;
}
