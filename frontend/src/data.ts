// Reading the JSON API with the console's session cookie (same origin). Charts that share a URL (the
// summary feeds three of them) share one request.
import { useEffect, useState } from "react";

const inFlight = new Map<string, Promise<unknown>>();

export class ApiError extends Error {}

async function load(url: string): Promise<unknown> {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!response.ok) {
    let detail = response.statusText;
    try {
      const body = await response.json();
      if (typeof body?.detail === "string") detail = body.detail;
    } catch {
      /* not JSON: keep the status text */
    }
    throw new ApiError(`${response.status} ${detail}`.trim());
  }
  return response.json();
}

export function fetchJson<T>(url: string): Promise<T> {
  let pending = inFlight.get(url);
  if (!pending) {
    pending = load(url).finally(() => inFlight.delete(url));
    inFlight.set(url, pending);
  }
  return pending as Promise<T>;
}

export interface Loaded<T> {
  data: T | null;
  error: string | null;
}

/** The JSON at `url`, re-read whenever `tick` grows; the last good answer stays while re-reading. */
export function useJson<T>(url: string, tick: number): Loaded<T> {
  const [state, setState] = useState<Loaded<T>>({ data: null, error: null });
  useEffect(() => {
    let current = true;
    fetchJson<T>(url).then(
      (data) => current && setState({ data, error: null }),
      (err: unknown) => current && setState((s) => ({ data: s.data, error: String((err as Error).message || err) })),
    );
    return () => {
      current = false;
    };
  }, [url, tick]);
  return state;
}
