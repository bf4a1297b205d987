// The dashboard's shell: navigation, the global error banner, the login form
// when the server wants one, the confirmation dialog, and the current page.

import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import { Api, type Session } from './api/client.js';
import { ConfirmDialog, type PendingQuestion } from './components/confirm-dialog.js';
import { LoginForm } from './components/login-form.js';
import { ShellContext, type Shell } from './context.js';
import { PAGES, pageOf, type Page } from './lib/route.js';
import { ClusterPage } from './pages/cluster-page.js';
import { KeysPage } from './pages/keys-page.js';
import { LeasesPage } from './pages/leases-page.js';
import { OpsPage } from './pages/ops-page.js';
import { WatchPage } from './pages/watch-page.js';

const TITLES: Record<Page, string> = { cluster: 'Cluster', keys: 'Keys', watch: 'Watch', leases: 'Leases', ops: 'Operations' };
const TOKEN_KEY = 'etcd-ts-ui-session';

function loadSession(): Session {
  try {
    const s = JSON.parse(sessionStorage.getItem(TOKEN_KEY) ?? '{}') as Partial<Session>;
    return { token: s.token, user: s.user };
  } catch {
    return { token: undefined, user: undefined };
  }
}

export function App({ apiBase }: { apiBase: string }) {
  const [page, setPage] = useState<Page>(() => pageOf(location.hash));
  const [error, setError] = useState<string>();
  const [pending, setPending] = useState<PendingQuestion>();
  const [needLogin, setNeedLogin] = useState(false);
  // Bumped on login/logout so the page remounts and reloads with the new identity.
  const [generation, setGeneration] = useState(0);
  const session = useMemo(loadSession, []);
  const [user, setUser] = useState(session.user);

  useEffect(() => {
    const onHash = (): void => setPage(pageOf(location.hash));
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  useEffect(() => {
    document.title = `${TITLES[page]} · etcd-ts`;
  }, [page]);

  const api = useMemo(() => new Api(apiBase, session, () => setNeedLogin(true)), [apiBase, session]);
  const ask = useCallback(
    (question: string, detail?: string) =>
      new Promise<boolean>((resolve) => {
        setPending({
          question,
          detail,
          answer: (ok) => {
            setPending(undefined);
            resolve(ok);
          },
        });
      }),
    [],
  );
  const shell: Shell = useMemo(() => ({ api, ask, showError: setError }), [api, ask]);

  const login = async (name: string, password: string): Promise<void> => {
    session.token = undefined;
    const res = await api.post<{ token?: string }>('/v3/auth/authenticate', { name, password });
    session.token = res.token;
    session.user = name;
    sessionStorage.setItem(TOKEN_KEY, JSON.stringify(session));
    setUser(name);
    setNeedLogin(false);
    setError(undefined);
    setGeneration((g) => g + 1);
  };
  const logout = (): void => {
    session.token = undefined;
    session.user = undefined;
    sessionStorage.removeItem(TOKEN_KEY);
    setUser(undefined);
    // Only a cluster with auth enabled offered a login: ask for the next user at once.
    setNeedLogin(true);
    setGeneration((g) => g + 1);
  };

  return (
    <ShellContext.Provider value={shell}>
      <header class="top">
        <a class="brand" href="#/cluster">
          etcd-ts
        </a>
        <nav aria-label="Pages">
          {PAGES.map((p) => (
            <a key={p} href={`#/${p}`} data-testid={`nav-${p}`} aria-current={p === page ? 'page' : undefined}>
              {TITLES[p]}
            </a>
          ))}
        </nav>
        {user && (
          <span class="who">
            <span class="user">{user}</span>
            <button type="button" data-testid="logout" onClick={logout}>
              Log out
            </button>
          </span>
        )}
      </header>
      {error && (
        <div class="banner" role="alert">
          <span data-testid="error-banner">{error}</span>
          <button type="button" class="link" aria-label="Dismiss the error" onClick={() => setError(undefined)}>
            ×
          </button>
        </div>
      )}
      <main id="main">
        {needLogin ? (
          <LoginForm onLogin={login} />
        ) : (
          <>
            <h1>{TITLES[page]}</h1>
            <CurrentPage key={`${page}:${generation}`} page={page} />
          </>
        )}
      </main>
      <ConfirmDialog pending={pending} />
    </ShellContext.Provider>
  );
}

function CurrentPage({ page }: { page: Page }) {
  switch (page) {
    case 'cluster':
      return <ClusterPage />;
    case 'keys':
      return <KeysPage />;
    case 'watch':
      return <WatchPage />;
    case 'leases':
      return <LeasesPage />;
    case 'ops':
      return <OpsPage />;
  }
}
