// Which server the console talks to: the embedded one or a remote Tally server.
import type { ConsoleInfo } from "../bindings/ConsoleInfo";
import type { ConsoleSettings } from "../bindings/ConsoleSettings";
import type { Lang } from "../bindings/Lang";
import type { RemoteServer } from "../bindings/RemoteServer";
import { command } from "./tauri";

export const serverSettings = () => command("server_settings", {});

export const setServer = (remote: RemoteServer | null, lang: Lang) =>
  command("set_server", { remote, lang });

/** The remote server a form describes, or null for the embedded one. */
export function remoteFromForm(useRemote: boolean, url: string, token: string): RemoteServer | null {
  if (!useRemote) return null;
  return { url: url.trim(), token: token.trim() === "" ? null : token.trim() };
}
