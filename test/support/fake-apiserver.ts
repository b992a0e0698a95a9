// An in-process Kubernetes API server for the add-on's tests, over real HTTPS with bearer-token auth.
// It implements the subset the add-on uses, as the real one behaves: server-side apply (PATCH
// application/apply-patch+yaml: create, or merge by field manager, removing fields the manager
// stopped applying; 409 on conflicts with another manager unless force), GET/LIST (label selectors),
// DELETE (optionally delayed, as with finalizers), namespaced vs cluster-scoped paths, Secret
// stringData -> data, generation bumps, and a DaemonSet/Deployment "controller" filling in status;
// merge patch and JSON patch (RFC 6902) on objects and on the status subresource, where, as for real,
// the object's PATCH leaves status alone and the status PATCH changes nothing but status. `refuse()` and
// `accept()` stop and resume listening on the same port: an API server that is down, then back.
import http from "node:http";
import https from "node:https";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import { parse as parseYaml, stringify } from "yaml";
import { issueWebhookTls } from "../../src/addon/tls.js";

type Obj = Record<string, any>;

interface Kind {
  apiVersion: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

// The server's own table, independent of the client's, so a wrong path in the client fails.
const KINDS: Kind[] = [
  ["v1", "ConfigMap", "configmaps", true],
  ["v1", "Secret", "secrets", true],
  ["v1", "Service", "services", true],
  ["v1", "ServiceAccount", "serviceaccounts", true],
  ["v1", "Pod", "pods", true],
  ["v1", "Event", "events", true],
  ["v1", "Namespace", "namespaces", false],
  ["v1", "Node", "nodes", false],
  ["apps/v1", "DaemonSet", "daemonsets", true],
  ["apps/v1", "Deployment", "deployments", true],
  ["rbac.authorization.k8s.io/v1", "ClusterRole", "clusterroles", false],
  ["rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "clusterrolebindings", false],
  ["rbac.authorization.k8s.io/v1", "Role", "roles", true],
  ["admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration", "mutatingwebhookconfigurations", false],
  ["admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", "validatingwebhookconfigurations", false],
  ["admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy", "validatingadmissionpolicies", false],
  ["admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding", "validatingadmissionpolicybindings", false],
].map(([apiVersion, kind, plural, namespaced]) => ({ apiVersion, kind, plural, namespaced }) as Kind);

const MERGE_PATCH = "application/merge-patch+json";
const JSON_PATCH = "application/json-patch+json";

/** RFC 7386: maps merge, null deletes, anything else replaces. */
function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isMap(patch)) return clone(patch);
  const out: Obj = isMap(target) ? target : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k], v);
  }
  return out;
}

/** RFC 6902 add, replace, remove and test, on a copy; a failing op fails the whole patch (422). */
function applyJsonPatch(target: Obj, ops: unknown): Obj {
  if (!Array.isArray(ops)) throw new HttpError(400, "BadRequest", "a JSON patch is an array of operations");
  const doc = clone(target);
  for (const op of ops as Obj[]) {
    if (typeof op?.path !== "string" || !(op.path === "" || op.path.startsWith("/"))) throw new HttpError(422, "Invalid", `bad JSON patch path ${JSON.stringify(op?.path)}`);
    const tokens = op.path.split("/").slice(1).map((t: string) => t.replace(/~1/g, "/").replace(/~0/g, "~"));
    const last = tokens.pop();
    if (last === undefined) throw new HttpError(422, "Invalid", "patching the whole document is not supported");
    const parent = tokens.reduce<unknown>((cur, t) => (isMap(cur) ? cur[t] : Array.isArray(cur) ? cur[Number(t)] : undefined), doc);
    const fail = (why: string) => new HttpError(422, "Invalid", `the server rejected our request due to an error in our request: ${op.op} ${op.path}: ${why}`);
    if (!isMap(parent) && !Array.isArray(parent)) throw fail("missing path");
    const arr = Array.isArray(parent) ? parent : null;
    const map = parent as Obj;
    switch (op.op) {
      case "add":
        if (arr) arr.splice(last === "-" ? arr.length : Number(last), 0, clone(op.value));
        else map[last] = clone(op.value);
        break;
      case "replace":
      case "remove":
        if (!(last in map)) throw fail("unable to find the key");
        if (op.op === "replace") map[last] = clone(op.value);
        else if (arr) arr.splice(Number(last), 1);
        else delete map[last];
        break;
      case "test":
        if (JSON.stringify(map[last]) !== JSON.stringify(op.value)) throw fail("testing value failed");
        break;
      default:
        throw fail(`unsupported op ${JSON.stringify(op.op)}`);
    }
  }
  return doc;
}

export type RolloutMode = "healthy" | "stuck";

export interface RequestRecord {
  method: string;
  path: string;
  contentType?: string;
}

class HttpError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

const key = (apiVersion: string, kind: string, ns: string | undefined, name: string) => `${apiVersion}|${kind}|${ns ?? ""}|${name}`;
const clone = <T>(v: T): T => structuredClone(v);
const isMap = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** Leaf paths of an applied configuration (maps recursed, lists and scalars are leaves). */
function leafPaths(o: unknown, prefix: string[] = []): string[][] {
  if (!isMap(o)) return [prefix];
  return Object.entries(o).flatMap(([k, v]) => leafPaths(v, [...prefix, k]));
}

function getPath(o: unknown, p: string[]): unknown {
  return p.reduce<unknown>((cur, k) => (isMap(cur) ? cur[k] : undefined), o);
}

function deletePath(o: Obj, p: string[]): void {
  const parent = getPath(o, p.slice(0, -1));
  if (isMap(parent)) delete parent[p[p.length - 1]!];
}

function merge(into: Obj, from: Obj): void {
  for (const [k, v] of Object.entries(from)) {
    if (isMap(v) && isMap(into[k])) merge(into[k], v);
    else into[k] = clone(v);
  }
}

/** A plain-text answer (pod logs) instead of JSON. */
class TextBody {
  constructor(readonly text: string) {}
}

/** Equality field selectors, as the API server takes them for events: `involvedObject.name=x,type=Warning`. */
function matchesFields(o: Obj, selector: string): boolean {
  if (selector === "") return true;
  return selector.split(",").every((term) => {
    const [field, want] = term.split("=") as [string, string];
    const got = field.split(".").reduce<unknown>((v, part) => (v && typeof v === "object" ? (v as Obj)[part] : undefined), o);
    return String(got ?? "") === want;
  });
}

export function matchesSelector(labels: Record<string, string> | undefined, selector: string): boolean {
  const l = labels ?? {};
  // Split on commas outside parentheses.
  const reqs = selector.match(/([^,(]|\([^)]*\))+/g) ?? [];
  return reqs.every((raw) => {
    const r = raw.trim();
    let m: RegExpExecArray | null;
    if ((m = /^([^=!\s]+)\s*(==|=|!=)\s*([^\s]*)$/.exec(r))) return m[2] === "!=" ? l[m[1]!] !== m[3] : l[m[1]!] === m[3];
    if ((m = /^([^\s]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(r))) {
      const vals = m[3]!.split(",").map((s) => s.trim());
      return m[2] === "in" ? vals.includes(l[m[1]!]!) : !vals.includes(l[m[1]!]!);
    }
    if ((m = /^!([^\s]+)$/.exec(r))) return !(m[1]! in l);
    if (/^[^\s=!(),]+$/.test(r)) return r in l;
    throw new HttpError(400, "BadRequest", `unable to parse requirement: ${JSON.stringify(r)}`);
  });
}

function nodeMatches(node: Obj, affinity: Obj | undefined): boolean {
  const terms = affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms as Obj[] | undefined;
  if (!terms) return true;
  const labels: Record<string, string> = node.metadata?.labels ?? {};
  return terms.some((t) =>
    (t.matchExpressions ?? []).every((e: Obj) => {
      const v = labels[e.key];
      switch (e.operator) {
        case "In":
          return v !== undefined && e.values.includes(v);
        case "NotIn":
          return v === undefined || !e.values.includes(v);
        case "Exists":
          return v !== undefined;
        case "DoesNotExist":
          return v === undefined;
        default:
          return false;
      }
    }),
  );
}

export class FakeApiServer {
  readonly objects = new Map<string, Obj>();
  /** What each field manager last applied, per object key. */
  private readonly applied = new Map<string, Map<string, Obj>>();
  readonly requests: RequestRecord[] = [];
  private readonly podLogs = new Map<string, string>();
  rolloutMode: RolloutMode = "healthy";
  /** Deleted objects linger this long with a deletionTimestamp, as when finalizers run. */
  deletionDelayMs = 0;
  private rv = 1;
  private server!: https.Server;
  url = "";
  kubeconfigPath = "";
  caPem = "";
  readonly token = `token-${randomUUID()}`;

  static async start(): Promise<FakeApiServer> {
    const f = new FakeApiServer();
    await f.listen();
    return f;
  }

  private async listen(): Promise<void> {
    const tls = await issueWebhookTls({ dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] });
    this.caPem = tls.caPem;
    this.server = https.createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        if (this.versionAndProxy(req, res)) return;
        let status = 200;
        let body: unknown;
        try {
          this.requests.push({ method: req.method!, path: req.url!, contentType: req.headers["content-type"] });
          if (req.headers.authorization !== `Bearer ${this.token}`) throw new HttpError(401, "Unauthorized", "Unauthorized");
          [status, body] = this.handle(req.method!, new URL(req.url!, "https://x"), req.headers["content-type"], Buffer.concat(chunks).toString("utf8"));
        } catch (err) {
          const e = err instanceof HttpError ? err : new HttpError(500, "InternalError", String(err));
          status = e.code;
          body = { kind: "Status", apiVersion: "v1", status: "Failure", message: e.message, reason: e.reason, code: e.code };
        }
        if (body instanceof TextBody) res.writeHead(status, { "content-type": "text/plain" }).end(body.text);
        else res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
      });
    });
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.url = `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    for (const ns of ["default", "kube-system", "kube-public"]) this.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
    const dir = mkdtempSync(path.join(tmpdir(), "confcom-kubeconfig-"));
    this.kubeconfigPath = path.join(dir, "config");
    writeFileSync(
      this.kubeconfigPath,
      stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [
          { name: "fake", cluster: { server: this.url, "certificate-authority-data": Buffer.from(this.caPem).toString("base64") } },
          // Refuses connections: for --context tests.
          { name: "nowhere", cluster: { server: "https://127.0.0.1:1", "certificate-authority-data": Buffer.from(this.caPem).toString("base64") } },
        ],
        users: [{ name: "admin", user: { token: this.token } }],
        contexts: [
          { name: "fake", context: { cluster: "fake", user: "admin" } },
          { name: "elsewhere", context: { cluster: "nowhere", user: "admin" } },
        ],
        "current-context": "fake",
      }),
    );
  }

  close(): Promise<void> {
    return new Promise((r) => {
      this.server.closeAllConnections();
      this.server.close(() => r());
    });
  }

  /** Stores an object as another client (e.g. kubectl) would have created it. */
  seed(obj: Obj): Obj {
    const info = this.kindOf(obj.apiVersion, obj.kind);
    const o = clone(obj);
    o.metadata = { ...o.metadata, uid: randomUUID(), resourceVersion: String(this.rv++), generation: 1, creationTimestamp: new Date().toISOString() };
    if (info.namespaced) o.metadata.namespace ??= "default";
    this.normalize(o);
    this.objects.set(key(o.apiVersion, o.kind, info.namespaced ? o.metadata.namespace : undefined, o.metadata.name), o);
    return o;
  }

  addNode(name: string, labels: Record<string, string>, epc?: { resource: string; capacity: string; allocatable: string }): Obj {
    return this.seed({
      apiVersion: "v1",
      kind: "Node",
      metadata: { name, labels: { "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", ...labels } },
      status: {
        capacity: { cpu: "4", memory: "16Gi", ...(epc ? { [epc.resource]: epc.capacity } : {}) },
        allocatable: { cpu: "3900m", memory: "15Gi", ...(epc ? { [epc.resource]: epc.allocatable } : {}) },
      },
    });
  }

  find(kind: string, name: string, namespace?: string): Obj | undefined {
    const info = KINDS.find((k) => k.kind === kind)!;
    return this.objects.get(key(info.apiVersion, kind, info.namespaced ? namespace : undefined, name));
  }

  /** The previous run's output of a pod's container, as `pods/<name>/log?previous=true` returns it. */
  setPodLog(namespace: string, pod: string, container: string, text: string): void {
    this.podLogs.set(`${namespace}/${pod}/${container}`, text);
  }

  /** Sets a workload's status as its controller would, e.g. mid-rollout. */
  setStatus(kind: string, name: string, namespace: string, status: Obj): void {
    const o = this.find(kind, name, namespace);
    if (!o) throw new Error(`no ${kind} ${namespace}/${name}`);
    o.status = { observedGeneration: o.metadata.generation, ...status };
  }

  private kindOf(apiVersion: string, kind: string): Kind {
    const k = KINDS.find((x) => x.apiVersion === apiVersion && x.kind === kind && this.serves(x));
    if (!k) throw new HttpError(404, "NotFound", `the server could not find the requested resource (${apiVersion} ${kind})`);
    return k;
  }

  private normalize(o: Obj): void {
    if (o.kind === "Secret" && o.stringData) {
      o.data = { ...(o.data ?? {}) };
      for (const [k, v] of Object.entries(o.stringData as Record<string, string>)) o.data[k] = Buffer.from(v).toString("base64");
      delete o.stringData;
    }
  }

  private control(o: Obj): void {
    if (o.kind === "DaemonSet" && this.rolloutMode === "healthy") {
      const nodes = [...this.objects.values()].filter((n) => n.kind === "Node" && nodeMatches(n, o.spec?.template?.spec?.affinity)).length;
      o.status = { observedGeneration: o.metadata.generation, currentNumberScheduled: nodes, desiredNumberScheduled: nodes, numberMisscheduled: 0, numberReady: nodes, updatedNumberScheduled: nodes, numberAvailable: nodes };
    } else if (o.kind === "DaemonSet") {
      o.status = { observedGeneration: o.metadata.generation, currentNumberScheduled: 1, desiredNumberScheduled: 1, numberMisscheduled: 0, numberReady: 0, updatedNumberScheduled: 0, numberAvailable: 0 };
    } else if (o.kind === "Deployment") {
      const n = o.spec?.replicas ?? 1;
      const ok = this.rolloutMode === "healthy";
      o.status = { observedGeneration: o.metadata.generation, replicas: n, updatedReplicas: ok ? n : 0, readyReplicas: ok ? n : 0, availableReplicas: ok ? n : 0 };
    }
  }

  private parsePath(p: string): { info: Kind; namespace?: string; name?: string; subresource?: string } {
    const m = /^\/(?:api\/(v1)|apis\/([^/]+\/[^/]+))(?:\/namespaces\/([^/]+))?\/([^/]+)(?:\/([^/]+))?(?:\/(status|log))?$/.exec(p);
    if (!m) throw new HttpError(404, "NotFound", `the server could not find the requested resource: ${p}`);
    const apiVersion = m[1] ?? m[2]!;
    const [namespace, plural, name] = [m[3] && decodeURIComponent(m[3]), m[4]!, m[5] && decodeURIComponent(m[5])];
    const info = KINDS.find((k) => k.apiVersion === apiVersion && k.plural === plural && this.serves(k));
    if (!info) throw new HttpError(404, "NotFound", `the server could not find the requested resource: ${p}`);
    if (!info.namespaced && namespace !== undefined) throw new HttpError(404, "NotFound", `${info.kind} is cluster-scoped: ${p}`);
    if (info.namespaced && namespace !== undefined && !this.objects.has(key("v1", "Namespace", undefined, namespace))) {
      throw new HttpError(404, "NotFound", `namespaces "${namespace}" not found`);
    }
    return { info, namespace, name, subresource: m[6] };
  }

  private handle(method: string, url: URL, contentType: string | undefined, body: string): [number, unknown] {
    const { info, namespace, name, subresource } = this.parsePath(url.pathname);
    const ns = info.namespaced ? namespace : undefined;
    if (subresource && method !== "PATCH" && method !== "GET") throw new HttpError(405, "MethodNotAllowed", `${method} on ${subresource} is not supported here`);
    if (method === "GET" && name === undefined) {
      const selector = url.searchParams.get("labelSelector") ?? "";
      const items = [...this.objects.values()]
        .filter((o) => o.apiVersion === info.apiVersion && o.kind === info.kind && (ns === undefined || o.metadata.namespace === ns))
        .filter((o) => selector === "" || matchesSelector(o.metadata.labels, selector))
        .filter((o) => matchesFields(o, url.searchParams.get("fieldSelector") ?? ""));
      return [200, { apiVersion: info.apiVersion, kind: `${info.kind}List`, metadata: { resourceVersion: String(this.rv) }, items: clone(items) }];
    }
    if (name === undefined) throw new HttpError(405, "MethodNotAllowed", `${method} on a collection is not supported here`);
    if (info.namespaced && ns === undefined) throw new HttpError(404, "NotFound", `${info.kind} is namespaced: the path needs a namespace`);
    const k = key(info.apiVersion, info.kind, ns, name);
    const notFound = () => new HttpError(404, "NotFound", `${info.plural} "${name}" not found`);
    if (method === "GET" && subresource === "log") {
      if (!this.objects.get(k)) throw notFound();
      const container = url.searchParams.get("container") ?? "";
      const log = this.podLogs.get(`${ns}/${name}/${container}`);
      if (log === undefined) throw new HttpError(400, "BadRequest", `previous terminated container "${container}" in pod "${name}" not found`);
      const tail = Number(url.searchParams.get("tailLines") ?? "0");
      const lines = log.split("\n").filter((l) => l !== "");
      return [200, new TextBody(`${(tail > 0 ? lines.slice(-tail) : lines).join("\n")}\n`)];
    }
    if (method === "GET") {
      const o = this.objects.get(k);
      if (!o) throw notFound();
      return [200, clone(o)];
    }
    if (method === "DELETE") {
      const o = this.objects.get(k);
      if (!o) throw notFound();
      if (this.deletionDelayMs > 0) {
        o.metadata.deletionTimestamp ??= new Date().toISOString();
        setTimeout(() => this.objects.delete(k), this.deletionDelayMs).unref();
      } else this.objects.delete(k);
      this.applied.delete(k);
      return [200, clone(o)];
    }
    if (method === "PATCH" && (contentType === MERGE_PATCH || contentType === JSON_PATCH)) return this.patch(contentType, body, info, name, k, subresource === "status");
    if (method === "PATCH" && subresource) throw new HttpError(415, "UnsupportedMediaType", `the status subresource takes merge or JSON patches here, got ${contentType}`);
    if (method === "PATCH") return this.apply(url, contentType, body, info, ns, name, k);
    throw new HttpError(405, "MethodNotAllowed", `method ${method} is not supported`);
  }

  /** A merge or JSON patch of an existing object (or of its status alone, with `status`). */
  private patch(contentType: string, body: string, info: Kind, name: string, k: string, status: boolean): [number, unknown] {
    const existing = this.objects.get(k);
    if (!existing) throw new HttpError(404, "NotFound", `${info.plural} "${name}" not found`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch (err) {
      throw new HttpError(400, "BadRequest", `error decoding patch: ${(err as Error).message}`);
    }
    const patched = contentType === JSON_PATCH ? applyJsonPatch(existing, parsed) : applyMergePatch(clone(existing), parsed);
    if (!isMap(patched)) throw new HttpError(422, "Invalid", "the patched object is not an object");
    // The object's endpoint keeps the stored status; the status endpoint keeps everything else.
    const next: Obj = status ? { ...clone(existing), status: patched.status } : { ...patched, status: clone(existing.status) };
    if (next.status === undefined) delete next.status;
    next.metadata = { ...next.metadata, name, uid: existing.metadata.uid, creationTimestamp: existing.metadata.creationTimestamp, resourceVersion: existing.metadata.resourceVersion };
    if (JSON.stringify(next) !== JSON.stringify(existing)) next.metadata.resourceVersion = String(this.rv++);
    this.objects.set(k, next);
    return [200, clone(next)];
  }

  // --- The server's version and the pod proxy (for the add-on's feature switch and `addon status`). ---

  /** What GET /version answers; kinds newer than it are not served (404), as on a real server of that version. */
  version = { major: "1", minor: "30", gitVersion: "v1.30.4" };
  /** Where each pod's ports are really served, by "namespace/pod:port", e.g. "http://127.0.0.1:43121". */
  readonly podEndpoints = new Map<string, string>();
  private static readonly KIND_SINCE_MINOR: Record<string, number> = { ValidatingAdmissionPolicy: 30, ValidatingAdmissionPolicyBinding: 30 };

  private serves(k: Kind): boolean {
    const since = FakeApiServer.KIND_SINCE_MINOR[k.kind];
    return since === undefined || Number.parseInt(this.version.minor, 10) >= since;
  }

  /** GET /version, and GET .../pods/NAME:PORT/proxy/PATH forwarded to the pod's endpoint; true when handled. */
  private versionAndProxy(req: http.IncomingMessage, res: http.ServerResponse): boolean {
    const url = new URL(req.url!, "https://x");
    const proxy = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/:]+):(\d+)\/proxy(\/.*)?$/.exec(url.pathname);
    if (url.pathname !== "/version" && !proxy) return false;
    this.requests.push({ method: req.method!, path: req.url! });
    const status = (code: number, reason: string, message: string) =>
      res.writeHead(code, { "content-type": "application/json" }).end(JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", message, reason, code }));
    if (req.headers.authorization !== `Bearer ${this.token}`) return status(401, "Unauthorized", "Unauthorized"), true;
    if (!proxy) return res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ ...this.version, platform: "linux/amd64" })), true;
    const [, ns, name, port, rest] = proxy as unknown as [string, string, string, string, string | undefined];
    if (!this.objects.has(key("v1", "Pod", ns, name))) return status(404, "NotFound", `pods "${name}" not found`), true;
    const target = this.podEndpoints.get(`${ns}/${name}:${port}`);
    if (!target) return status(503, "ServiceUnavailable", `error trying to reach service: dial tcp 10.244.0.9:${port}: connect: connection refused`), true;
    const upstream = http.get(new URL(rest ?? "/", target), (up) => {
      res.writeHead(up.statusCode ?? 502, { "content-type": up.headers["content-type"] ?? "text/plain" });
      up.pipe(res);
    });
    upstream.setTimeout(5000, () => upstream.destroy(new Error("timeout")));
    upstream.on("error", (err) => {
      if (!res.headersSent) status(503, "ServiceUnavailable", `error trying to reach service: ${err.message}`);
      else res.destroy();
    });
    return true;
  }

  /** Stops listening (connections are refused) until accept(). */
  refuse(): Promise<void> {
    return new Promise((r) => {
      this.server.closeAllConnections();
      this.server.close(() => r());
    });
  }

  /** Listens again on the same port. */
  accept(): Promise<void> {
    const port = Number(new URL(this.url).port);
    return new Promise<void>((r) => this.server.listen(port, "127.0.0.1", r));
  }

  private apply(url: URL, contentType: string | undefined, body: string, info: Kind, ns: string | undefined, name: string, k: string): [number, unknown] {
    if (contentType !== "application/apply-patch+yaml") throw new HttpError(415, "UnsupportedMediaType", `only server-side apply is supported, got ${contentType}`);
    const manager = url.searchParams.get("fieldManager");
    if (!manager) throw new HttpError(400, "BadRequest", "PATCH, fieldManager: Required value: is required for apply patch");
    const force = url.searchParams.get("force") === "true";
    let patch: Obj;
    try {
      patch = parseYaml(body) as Obj;
    } catch (err) {
      throw new HttpError(400, "BadRequest", `error decoding YAML: ${(err as Error).message}`);
    }
    if (!isMap(patch) || patch.apiVersion !== info.apiVersion || patch.kind !== info.kind) throw new HttpError(400, "BadRequest", "apiVersion and kind of the body must match the path");
    if (patch.metadata?.name !== name) throw new HttpError(400, "BadRequest", "the name of the object does not match the name on the URL");
    if (info.namespaced && patch.metadata?.namespace !== undefined && patch.metadata.namespace !== ns) throw new HttpError(400, "BadRequest", "the namespace of the object does not match the namespace on the URL");
    const managers = this.applied.get(k) ?? new Map<string, Obj>();
    const existing = this.objects.get(k);
    if (!existing) {
      const o = clone(patch);
      o.metadata = { ...o.metadata, ...(ns ? { namespace: ns } : {}), uid: randomUUID(), resourceVersion: String(this.rv++), generation: 1, creationTimestamp: new Date().toISOString() };
      this.normalize(o);
      o.metadata.managedFields = [{ manager, operation: "Apply", apiVersion: info.apiVersion }];
      this.control(o);
      this.objects.set(k, o);
      this.applied.set(k, new Map([[manager, clone(patch)]]));
      return [201, clone(o)];
    }
    // Conflicts: a field another manager set, to a different value.
    const conflicts = leafPaths(patch).filter((p) =>
      [...managers].some(([m, prev]) => m !== manager && getPath(prev, p) !== undefined && JSON.stringify(getPath(prev, p)) !== JSON.stringify(getPath(patch, p))),
    );
    const seededByOther = managers.size === 0; // created by a plain create (e.g. kubectl create): owned by "before-first-apply"
    if (!force && (conflicts.length > 0 || seededByOther)) {
      throw new HttpError(409, "Conflict", `Apply failed with ${Math.max(1, conflicts.length)} conflict(s): conflict with another field manager`);
    }
    const next = clone(existing);
    const prev = managers.get(manager);
    if (prev) {
      const now = new Set(leafPaths(patch).map((p) => p.join("\0")));
      for (const p of leafPaths(prev)) if (!now.has(p.join("\0"))) deletePath(next, p);
    }
    merge(next, patch);
    this.normalize(next);
    const strip = (o: Obj) => JSON.stringify({ ...o, metadata: undefined, status: undefined });
    const specChanged = strip(next) !== strip(existing);
    next.metadata = { ...next.metadata, uid: existing.metadata.uid, creationTimestamp: existing.metadata.creationTimestamp };
    if (specChanged) next.metadata.generation = (existing.metadata.generation ?? 1) + 1;
    if (JSON.stringify(next) !== JSON.stringify(existing)) next.metadata.resourceVersion = String(this.rv++);
    next.metadata.managedFields = [...new Set([...managers.keys(), manager])].map((m) => ({ manager: m, operation: "Apply", apiVersion: info.apiVersion }));
    managers.set(manager, clone(patch));
    this.applied.set(k, managers);
    this.control(next);
    this.objects.set(k, next);
    return [200, clone(next)];
  }
}
