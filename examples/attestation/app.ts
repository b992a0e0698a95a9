#!/usr/bin/env node
// The attestation sample's entry: `node dist/examples/attestation/app.js [flags]` (or env vars, as
// job.yaml sets them). Prints one final line and exits 0 only when the attestation held.
import { runAttestationApp } from "./main.js";

process.exitCode = await runAttestationApp(process.argv.slice(2));
