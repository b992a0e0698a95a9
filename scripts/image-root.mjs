// `npm run image:root -- DIR`: everything the image's final stage adds on top of the Node base image, laid
// out under DIR as the image has it, so the Dockerfile copies exactly this tree to / and the tests run
// the same tree without Docker:
//   opt/confcom/            the bundle (scripts/bundle.mjs): code-split CLI, worker entry points, the
//                           sample app, koffi with this platform's binary; the image's WORKDIR
//   usr/local/bin/confcom   the entrypoint (the add-on's manifests run `confcom ...`)
//   etc/passwd, etc/group   the base image's (read from --etc, default /etc: in the Dockerfile that is the
//                           build stage, the same base image) plus user and group 65532 "nonroot"
// Expects the tsc output in dist/ (npm run build). Prints the image's USER, WORKDIR and ENTRYPOINT.
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { execFileSync } from "node:child_process";

export const IMAGE_UID = 65532;
export const IMAGE_GID = 65532;
export const IMAGE_USER = "nonroot";
export const WORKDIR = "/opt/confcom";
export const ENTRYPOINT = "/usr/local/bin/confcom";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

function usage(message) {
  process.stderr.write(`${message}\nusage: node scripts/image-root.mjs DIR [--etc DIR]   (npm run image:root -- DIR)\n`);
  process.exit(2);
}

/** `base` (passwd or group lines) with `entry` added, unless an entry for that name or id is there already. */
function withEntry(base, entry) {
  const [name, , id] = entry.split(":");
  const lines = base.split("\n").filter((l) => l.trim() !== "");
  const clash = lines.find((l) => {
    const f = l.split(":");
    return f[0] === name || f[2] === id;
  });
  if (clash && clash !== entry) throw new Error(`the base already has "${clash}", which clashes with "${entry}"`);
  return `${[...lines, ...(clash ? [] : [entry])].join("\n")}\n`;
}

const args = process.argv.slice(2);
const etcIndex = args.indexOf("--etc");
const etc = etcIndex >= 0 ? args.splice(etcIndex, 2)[1] : "/etc";
if (args.length !== 1 || !etc) usage("give exactly one target directory");
const dir = path.resolve(args[0]);
if (dir === "/" || dir === root) usage(`refusing to lay out the image over ${dir}`);
if (!existsSync(path.join(root, "dist/src/cli/main.js"))) usage("dist/src/cli/main.js is missing: run npm run build first");

execFileSync(process.execPath, [path.join(root, "scripts/bundle.mjs")], { stdio: ["ignore", "ignore", "inherit"] });

rmSync(dir, { recursive: true, force: true });
const app = path.join(dir, WORKDIR);
mkdirSync(path.dirname(app), { recursive: true });
cpSync(path.join(root, "dist/bundle"), app, { recursive: true, dereference: true });

// Relative to where it sits, so the tree runs as well from DIR as from / in the image.
const bin = path.join(dir, ENTRYPOINT);
mkdirSync(path.dirname(bin), { recursive: true });
// node's command line takes the flags NODE_OPTIONS may not carry, from NODE_FLAGS_ENV (the DaemonSets
// set it): split on spaces, never globbed.
const { NODE_FLAGS_ENV } = await import(pathToFileURL(path.join(root, "dist/src/common/node-options.js")).href);
writeFileSync(bin, `#!/bin/sh\nset -f\nexec node \${${NODE_FLAGS_ENV}-} "$(dirname "$0")/../../..${WORKDIR}/confcom.mjs" "$@"\n`);
chmodSync(bin, 0o755);

mkdirSync(path.join(dir, "etc"), { recursive: true });
const passwd = withEntry(readFileSync(path.join(etc, "passwd"), "utf8"), `${IMAGE_USER}:x:${IMAGE_UID}:${IMAGE_GID}:confcom:/nonexistent:/usr/sbin/nologin`);
const group = withEntry(readFileSync(path.join(etc, "group"), "utf8"), `${IMAGE_USER}:x:${IMAGE_GID}:`);
writeFileSync(path.join(dir, "etc/passwd"), passwd, { mode: 0o644 });
writeFileSync(path.join(dir, "etc/group"), group, { mode: 0o644 });

process.stdout.write(`image root in ${dir}: USER ${IMAGE_UID}:${IMAGE_GID}, WORKDIR ${WORKDIR}, ENTRYPOINT ["${ENTRYPOINT}"]\n`);
