import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { createBrowserRouter, RouterProvider } from 'react-router';
import { completeSignIn, signIn } from './auth.ts';
import { routes } from './App.tsx';
import { t } from './i18n.ts';
import './styles.css';

async function start(): Promise<void> {
  const root = createRoot(document.getElementById('root')!);
  if (window.location.pathname === '/console/callback') {
    try {
      const next = await completeSignIn();
      window.history.replaceState(null, '', next);
    } catch (error) {
      root.render(
        <main className="centered">
          <h1>{t('Sign-in did not complete')}</h1>
          <p role="alert">{(error as Error).message}</p>
          <p>
            <a href="/console/">{t('Try again')}</a>
          </p>
        </main>,
      );
      return;
    }
  } else {
    await signIn();
  }
  const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false, refetchOnWindowFocus: false } } });
  const router = createBrowserRouter(routes, { basename: '/console' });
  root.render(
    <StrictMode>
      <QueryClientProvider client={queryClient}>
        <RouterProvider router={router} />
      </QueryClientProvider>
    </StrictMode>,
  );
}

void start();
