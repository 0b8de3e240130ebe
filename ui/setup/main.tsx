// The customer's setup portal (what a setup link opens): /setup#<secret>.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { Provider } from 'urql';
import { createHubClient } from '../shared/client.ts';
import { SetupApp } from './app.tsx';
import '../shared/styles.css';
import './portal.css';

const { urql } = createHubClient();
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <Provider value={urql}>
      <SetupApp />
    </Provider>
  </StrictMode>,
);
