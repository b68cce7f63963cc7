/**
 * What an embedding program can watch: links coming up and going down, and
 * authentication failures. Listeners run outside the actors (after the fact);
 * a throwing listener is reported and does not disturb the server.
 *
 * @module
 */

export interface LinkEvent {
  /** Link id (as in logs: `lid:N`). */
  lid: number;
  side: "accept" | "solicit";
  role: "hub" | "spoke";
  account: string;
  peer?: string;
  peerCluster?: string;
  compression: string;
}

export interface LinkDownEvent extends LinkEvent {
  reason: string;
}

export interface AuthFailureEvent {
  kind: "client" | "leafnode";
  remote: string;
  reason: string;
}

export interface ServerEventMap {
  linkUp: LinkEvent;
  linkDown: LinkDownEvent;
  authFailure: AuthFailureEvent;
}

export type ServerEventName = keyof ServerEventMap;
type Listener<K extends ServerEventName> = (event: ServerEventMap[K]) => void;

export class ServerEvents {
  #listeners: { [K in ServerEventName]: Set<Listener<K>> } = {
    linkUp: new Set(),
    linkDown: new Set(),
    authFailure: new Set(),
  };

  /** Adds a listener; returns a function that removes it. */
  on<K extends ServerEventName>(name: K, listener: Listener<K>): () => void {
    const set = this.#listeners[name] as Set<Listener<K>>;
    set.add(listener);
    return () => set.delete(listener);
  }

  emit<K extends ServerEventName>(name: K, event: ServerEventMap[K]): void {
    const set = this.#listeners[name] as Set<Listener<K>>;
    if (set.size === 0) return;
    // Deliver after the current actor message: listeners never run inside an actor.
    queueMicrotask(() => {
      for (const listener of set) {
        try {
          listener(event);
        } catch (error) {
          console.error(`canopy: a "${name}" listener threw:`, error);
        }
      }
    });
  }
}
