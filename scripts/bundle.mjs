// `npm run bundle`: the confcom CLI as ESM, dist/bundle/confcom.mjs, made with esbuild from the tsc
// output (tsc emits the decorator metadata the ASN.1 schemas need; esbuild cannot). Code-split: the
// entry holds the command table, and each concern's lazy import() is a chunk beside it (chunk-*.mjs),
// so a daemon loads only its own command's code. Beside them: the quote helper's worker-thread entry
// points, loaded by URL relative to the code that starts them (worker.js, backends/*.js), which is why
// chunks sit in the same directory. (The dcap backend is no worker: it is a chunk the CLI imports.) koffi is native: it stays external and is copied, with the prebuilt
// binary package of this platform (@koromix/koffi-<os>-<arch>), into dist/bundle/node_modules, so
// dist/bundle is the whole payload the image ships (the Dockerfile copies it as is).
import { build } from "esbuild";
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dist = path.join(root, "dist");
const out = path.join(dist, "bundle");
const { version } = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));

const common = {
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  external: ["koffi"],
  define: { __CONFCOM_VERSION__: JSON.stringify(version) },
  // CommonJS dependencies call require() for Node built-ins; give the ESM bundle one.
  banner: { js: 'import { createRequire as __confcomCreateRequire } from "node:module"; const require = __confcomCreateRequire(import.meta.url);' },
  legalComments: "none",
  logLevel: "warning",
};

const workers = [
  ["src/quotehelper/pool/worker.js", "worker.js"],
  ["src/quotehelper/backends/simulated.js", "backends/simulated.js"],
];

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
// The .js entry points beside the bundle are ES modules too.
writeFileSync(path.join(out, "package.json"), `${JSON.stringify({ type: "module", name: "confcom-bundle", version, private: true })}\n`);
await build({
  ...common,
  entryPoints: { confcom: path.join(dist, "src/cli/main.js") },
  outdir: out,
  splitting: true,
  chunkNames: "chunk-[hash]",
  outExtension: { ".js": ".mjs" },
});
// The sample attestation app, so `confcom demo` runs from the bundle as it does from the tsc build.
const apps = [["examples/attestation/app.js", "attestation-app.mjs"]];
for (const [from, to] of [...workers, ...apps]) {
  await build({ ...common, entryPoints: [path.join(dist, from)], outfile: path.join(out, to) });
}
// The native FFI module and the binary package npm installed for this platform (only one is).
const nativeModules = ["koffi", ...readdirSync(path.join(root, "node_modules/@koromix")).map((d) => `@koromix/${d}`)];
for (const m of nativeModules) {
  const from = path.join(root, "node_modules", m);
  if (!existsSync(from)) throw new Error(`${m} is not installed: run npm install`);
  cpSync(from, path.join(out, "node_modules", m), { recursive: true, dereference: true });
}
process.stdout.write(`bundled the CLI (code-split) and ${workers.length} worker entry points into ${path.relative(root, out)}/, with ${nativeModules.join(", ")}\n`);
