// Shown when the server asks for a user ("etcdserver: user name is empty" or an
// expired token): /v3/auth/authenticate gives the token later calls send.

import { useState } from 'preact/hooks';
import { errorText } from '../api/client.js';

export function LoginForm({ onLogin }: { onLogin: (user: string, password: string) => Promise<void> }) {
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  return (
    <form
      class="login card"
      data-testid="login-form"
      onSubmit={(e) => {
        e.preventDefault();
        setBusy(true);
        setError(undefined);
        onLogin(user, password).catch((err: unknown) => {
          setError(errorText(err));
          setBusy(false);
        });
      }}
    >
      <h2>Log in</h2>
      <p>Authentication is enabled on this cluster.</p>
      <label>
        User
        <input data-testid="login-user" name="user" autocomplete="username" value={user} onInput={(e) => setUser(e.currentTarget.value)} required />
      </label>
      <label>
        Password
        <input
          data-testid="login-password"
          name="password"
          type="password"
          autocomplete="current-password"
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
        />
      </label>
      {error && <p class="error" role="alert">{error}</p>}
      <button type="submit" data-testid="login-submit" disabled={busy}>
        Log in
      </button>
    </form>
  );
}
