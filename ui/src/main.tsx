// Entry of the dashboard bundle (scripts/build-ui.mjs builds it into dist/ui).

import { render } from 'preact';
import { App } from './app.js';
import { apiBaseOf } from './lib/route.js';
import './styles.css';

const meta = document.querySelector('meta[name="etcd-api-urls"]');
render(<App apiBase={apiBaseOf(meta?.getAttribute('content'))} />, document.getElementById('app')!);
