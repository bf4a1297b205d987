// What every page gets from the shell: the API client, the confirmation
// dialog, the global error banner, and where to reach each member.

import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Api } from './api/client.js';

export interface Shell {
  api: Api;
  /** Shows the confirmation dialog; true when the user pressed OK. */
  ask: (question: string, detail?: string) => Promise<boolean>;
  /** Shows (or, with undefined, clears) the global error banner. */
  showError: (text: string | undefined) => void;
}

export const ShellContext = createContext<Shell | undefined>(undefined);

export function useShell(): Shell {
  const shell = useContext(ShellContext);
  if (!shell) throw new Error('useShell outside the shell');
  return shell;
}
