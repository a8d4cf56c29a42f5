// Where the package's own files are (package.json, prisma/migrations, console/): the sources run
// from <root>/src, the build from <root>/dist/src, so "two folders up" is not enough. Modules that
// read files of the package take paths from here rather than counting `..` themselves.
import path from "node:path";

const here = import.meta.dirname; // <root>/src/config or <root>/dist/src/config
const up2 = path.resolve(here, "../..");

export const PACKAGE_ROOT = path.basename(up2) === "dist" ? path.dirname(up2) : up2;

/** True in the compiled build (dist/), false when the sources run through a TypeScript loader. */
export const IS_BUILD = PACKAGE_ROOT !== up2;

/** `<name>.js` beside the running build, `<name>.ts` beside the running sources. */
export function sibling(dirname: string, name: string): string {
  return path.resolve(dirname, `${name}${IS_BUILD ? ".js" : ".ts"}`);
}
