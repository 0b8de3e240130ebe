// The operator console (/console): organizations, connections, directory, audit, live events.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { Provider } from 'urql';
import { createHubClient } from '../shared/client.ts';
import { Router } from '../shared/router.tsx';
import { ConsoleApp } from './app.tsx';
import { WsContext } from './live.tsx';
import '../shared/styles.css';

const { urql, ws } = createHubClient();
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <Provider value={urql}>
      <WsContext.Provider value={ws}>
        <Router>
          <ConsoleApp />
        </Router>
      </WsContext.Provider>
    </Provider>
  </StrictMode>,
);
