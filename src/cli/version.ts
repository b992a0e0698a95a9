// The package version. The esbuild bundle defines __CONFCOM_VERSION__, since it has no package.json
// at a fixed path beside it; the tsc build reads package.json from the repository.
import { readFileSync } from "node:fs";

declare const __CONFCOM_VERSION__: string | undefined;

function readPackageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

export const VERSION: string = typeof __CONFCOM_VERSION__ === "string" ? __CONFCOM_VERSION__ : readPackageVersion();
