// `npm run console:build`: builds the console bundle into dist/console/ (also done by the server
// on start when the bundle is missing or stale). `--force` rebuilds a fresh bundle too.
import { ensureConsoleBundle, CONSOLE_OUT } from "./bundle.js";

const assets = await ensureConsoleBundle({ force: process.argv.includes("--force"), log: (m) => console.log(m) });
if (!assets.built) console.log(`console bundle is fresh (${assets.fingerprint}) in ${CONSOLE_OUT}`);
