// When to re-read a chart's data. static/js/live.js dispatches `console:message` after applying each
// websocket message (the socket also beats every 2 s), leaving the message's engine topics on
// #live-stamp (data-topics). A chart re-reads when
//   - a message carries one of its data-topics (the group page: "groups prices"), or
//   - a DOM event named in its data-refresh-on fires (the analytics page: "analytics:changed", sent
//     by `watchVersions` when the server-rendered stamp says a trade closed or a snapshot was taken),
//   - or, with no message for data-poll-sec seconds (the socket is down), on a timer.
// Bursts collapse into one re-read per THROTTLE_MS.
import { useEffect, useState } from "react";

const THROTTLE_MS = 2000;

function stampTopics(): string[] {
  return (document.getElementById("live-stamp")?.dataset.topics || "").split(/\s+/).filter(Boolean);
}

export interface RefreshOn {
  topics: readonly string[];
  events: readonly string[];
  pollSeconds: number;
}

/** A counter that grows each time the chart should re-read its data. */
export function useRefreshTick({ topics, events, pollSeconds }: RefreshOn): number {
  const [tick, setTick] = useState(0);
  const topicKey = topics.join(" ");
  const eventKey = events.join(" ");
  useEffect(() => {
    let timer: number | undefined;
    let last = 0;
    let lastMessage = Date.now();
    const bump = () => {
      if (timer !== undefined) return;
      timer = window.setTimeout(
        () => {
          timer = undefined;
          last = Date.now();
          setTick((n) => n + 1);
        },
        Math.max(0, last + THROTTLE_MS - Date.now()),
      );
    };
    const wanted = new Set(topicKey.split(" ").filter(Boolean));
    const onMessage = () => {
      lastMessage = Date.now();
      if (stampTopics().some((t) => wanted.has(t))) bump();
    };
    const names = eventKey.split(" ").filter(Boolean);
    document.addEventListener("console:message", onMessage);
    names.forEach((name) => document.addEventListener(name, bump));
    const poll =
      pollSeconds > 0
        ? window.setInterval(() => {
            if (Date.now() - lastMessage >= pollSeconds * 1000) bump();
          }, pollSeconds * 1000)
        : undefined;
    return () => {
      document.removeEventListener("console:message", onMessage);
      names.forEach((name) => document.removeEventListener(name, bump));
      if (poll !== undefined) window.clearInterval(poll);
      if (timer !== undefined) window.clearTimeout(timer);
    };
  }, [topicKey, eventKey, pollSeconds]);
  return tick;
}

const seen = new WeakMap<Element, string>();

/** Elements `<span data-live-version="…" data-live-event="name">` re-rendered by live pushes: when
 * the version changes, fire the named event on the document (charts and htmx listen for it). */
export function watchVersions(): void {
  const check = () => {
    document.querySelectorAll<HTMLElement>("[data-live-version]").forEach((el) => {
      const version = el.dataset.liveVersion || "";
      const before = seen.get(el);
      seen.set(el, version);
      if (before !== undefined && before !== version && el.dataset.liveEvent) {
        document.dispatchEvent(new CustomEvent(el.dataset.liveEvent));
        document.body.dispatchEvent(new CustomEvent(el.dataset.liveEvent)); // htmx's `from:body`
      }
    });
  };
  check();
  document.addEventListener("console:message", check);
}
