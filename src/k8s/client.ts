// A small Kubernetes REST client: kubeconfig loading and authentication by @kubernetes/client-node's
// KubeConfig, requests over node:https for the few verbs the add-on uses (get, list, apply, delete).
import { existsSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { kindInfo, resourcePath } from "./kinds.js";

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [k: string]: unknown };
  [field: string]: unknown;
}

/** A non-2xx answer of the API server, with its Status reason and message when it sent one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export interface KubeClientOptions {
  kubeconfig?: string;
  context?: string;
  /** Use the pod's service account (token and CA under SERVICE_ACCOUNT_DIR) instead of a kubeconfig. */
  inCluster?: boolean;
  /** Per-request timeout. */
  timeoutMs?: number;
}

const MAX_RESPONSE = 64 << 20;

/** Where a pod's service-account token, CA and namespace are mounted. */
export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** True inside a pod that can reach its API server: the service env and a mounted token. */
export function inClusterAvailable(): boolean {
  return Boolean(process.env.KUBERNETES_SERVICE_HOST) && existsSync(`${SERVICE_ACCOUNT_DIR}/token`);
}

/** Merge patch, JSON patch (RFC 6902) and strategic merge patch, by their content types. */
export const PATCH_CONTENT_TYPES = {
  merge: "application/merge-patch+json",
  json: "application/json-patch+json",
  strategic: "application/strategic-merge-patch+json",
} as const;
export type PatchType = keyof typeof PATCH_CONTENT_TYPES;

export class KubeClient {
  private constructor(
    readonly server: URL,
    readonly contextName: string,
    private readonly requestOptions: https.RequestOptions,
    private readonly timeoutMs: number,
  ) {}

  static async connect(opts: KubeClientOptions): Promise<KubeClient> {
    // Loaded here: commands that do not talk to a cluster should not pay for the client library.
    // The config module alone: the package root pulls in every generated API client (~15 MB bundled).
    const { KubeConfig } = await import("@kubernetes/client-node/dist/config.js");
    const kc = new KubeConfig();
    if (opts.kubeconfig) kc.loadFromFile(opts.kubeconfig);
    else if (opts.inCluster) kc.loadFromCluster();
    else kc.loadFromDefault();
    if (opts.context) {
      if (!kc.getContextObject(opts.context)) throw new Error(`context "${opts.context}" is not in the kubeconfig`);
      kc.setCurrentContext(opts.context);
    }
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error(`the kubeconfig has no cluster for context "${kc.getCurrentContext()}"`);
    const server = new URL(cluster.server);
    const requestOptions: https.RequestOptions = {};
    await kc.applyToHTTPSOptions(requestOptions);
    if (server.protocol === "http:") delete requestOptions.agent;
    return new KubeClient(server, kc.getCurrentContext(), requestOptions, opts.timeoutMs ?? 30_000);
  }

  async request(method: string, path: string, body?: { contentType: string; data: string }): Promise<unknown> {
    return this.send(method, path, body, { text: false, maxBytes: MAX_RESPONSE, timeoutMs: this.timeoutMs });
  }

  /** A GET whose answer is text (e.g. a pod's /metrics through the API server's proxy), bounded in size and time. */
  async getText(path: string, opts: { maxBytes: number; timeoutMs?: number }): Promise<string> {
    return (await this.send("GET", path, undefined, { text: true, maxBytes: opts.maxBytes, timeoutMs: opts.timeoutMs ?? this.timeoutMs })) as string;
  }

  /** GET /version: the API server's major and minor version and its gitVersion. */
  async serverVersion(): Promise<{ major: string; minor: string; gitVersion: string }> {
    const v = (await this.request("GET", "/version")) as { major?: unknown; minor?: unknown; gitVersion?: unknown } | undefined;
    const field = (x: unknown) => (typeof x === "string" ? x.slice(0, 64) : "");
    return { major: field(v?.major), minor: field(v?.minor), gitVersion: field(v?.gitVersion) };
  }

  private send(method: string, path: string, body: { contentType: string; data: string } | undefined, o: { text: boolean; maxBytes: number; timeoutMs: number }): Promise<unknown> {
    const url = new URL(path, this.server);
    const lib = url.protocol === "http:" ? http : https;
    const headers: Record<string, string> = { ...(this.requestOptions.headers as Record<string, string> | undefined), accept: o.text ? "text/plain, */*" : "application/json" };
    if (body) {
      headers["content-type"] = body.contentType;
      headers["content-length"] = String(Buffer.byteLength(body.data));
    }
    return new Promise((resolve, reject) => {
      const req = lib.request(url, { ...this.requestOptions, method, headers, timeout: o.timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (c: Buffer) => {
          size += c.length;
          if (size > o.maxBytes) req.destroy(new Error(`${method} ${url.pathname}: response larger than ${o.maxBytes} bytes`));
          else chunks.push(c);
        });
        res.on("error", reject);
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          const ok = (res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300;
          if (o.text && ok) return resolve(text);
          let parsed: unknown;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            parsed = undefined;
          }
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) return resolve(parsed);
          const st = (parsed ?? {}) as { reason?: string; message?: string };
          reject(new ApiError(status, st.reason ?? "", `${method} ${url.pathname}: ${status} ${st.message ?? (text.slice(0, 200) || res.statusMessage)}`));
        });
      });
      req.on("timeout", () => req.destroy(new Error(`${method} ${url.pathname}: no answer within ${o.timeoutMs} ms`)));
      req.on("error", (err) => reject(err instanceof ApiError ? err : new Error(`cannot reach the API server at ${this.server.origin}: ${err.message}`)));
      req.end(body?.data);
    });
  }

  /** The object, or null when it does not exist. */
  async get<T = KubeObject>(ref: ObjectRef): Promise<T | null> {
    try {
      return (await this.request("GET", resourcePath(kindInfo(ref.apiVersion, ref.kind), ref.namespace, ref.name))) as T;
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return null;
      throw err;
    }
  }

  async list<T = KubeObject>(apiVersion: string, kind: string, opts: { namespace?: string; labelSelector?: string; fieldSelector?: string } = {}): Promise<T[]> {
    const info = kindInfo(apiVersion, kind);
    const path = info.namespaced && !opts.namespace ? `${resourcePath({ ...info, namespaced: false }, undefined)}` : resourcePath(info, opts.namespace);
    const params = new URLSearchParams();
    if (opts.labelSelector) params.set("labelSelector", opts.labelSelector);
    if (opts.fieldSelector) params.set("fieldSelector", opts.fieldSelector);
    const query = params.size > 0 ? `?${params}` : "";
    const answer = (await this.request("GET", path + query)) as { items?: T[] };
    return answer.items ?? [];
  }

  /** Server-side apply: creates the object or merges it, owning the fields it sets as `fieldManager`. */
  async apply<T = KubeObject>(obj: KubeObject, fieldManager: string): Promise<T> {
    const info = kindInfo(obj.apiVersion, obj.kind);
    const path = `${resourcePath(info, obj.metadata.namespace, obj.metadata.name)}?fieldManager=${encodeURIComponent(fieldManager)}&force=true`;
    // JSON is YAML, and the apply content type accepts both.
    return (await this.request("PATCH", path, { contentType: "application/apply-patch+yaml", data: JSON.stringify(obj) })) as T;
  }

  /** Patches the object, or its `status` subresource (which alone may change status, e.g. of a Node). */
  async patch<T = KubeObject>(ref: ObjectRef, type: PatchType, patch: unknown, opts: { subresource?: "status" } = {}): Promise<T> {
    const path = resourcePath(kindInfo(ref.apiVersion, ref.kind), ref.namespace, ref.name) + (opts.subresource ? `/${opts.subresource}` : "");
    return (await this.request("PATCH", path, { contentType: PATCH_CONTENT_TYPES[type], data: JSON.stringify(patch) })) as T;
  }

  /** Deletes the object (foreground: dependents first); false when it was already gone. */
  async delete(ref: ObjectRef): Promise<boolean> {
    const body = JSON.stringify({ apiVersion: "v1", kind: "DeleteOptions", propagationPolicy: "Foreground" });
    try {
      await this.request("DELETE", resourcePath(kindInfo(ref.apiVersion, ref.kind), ref.namespace, ref.name), { contentType: "application/json", data: body });
      return true;
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return false;
      throw err;
    }
  }
}

export function describeRef(ref: ObjectRef): string {
  return `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ""}${ref.name}`;
}
