import { session, whenUnauthorized } from './api';
import { h } from './dom';
import { alertsPage } from './pages/alerts';
import { fleetPage } from './pages/fleet';
import { modelPage } from './pages/model';
import { scansPage } from './pages/scans';
import { signInPage } from './pages/sign-in';

/**
 * The console is one page with hash routes (#/fleet, #/models/<id>, #/alerts, #/scans): the
 * server serves only static files, and the address bar never holds the key.
 */
type Page = (main: HTMLElement, parameter?: string) => Promise<void>;

const ROUTES: { pattern: RegExp; page: Page; title: string; nav?: string }[] = [
  { pattern: /^\/?$|^\/fleet$/, page: fleetPage, title: 'Fleet', nav: '#/fleet' },
  { pattern: /^\/models\/([^/]+)$/, page: modelPage, title: 'Model' },
  { pattern: /^\/alerts$/, page: alertsPage, title: 'Alerts', nav: '#/alerts' },
  { pattern: /^\/scans$/, page: scansPage, title: 'Scans', nav: '#/scans' },
];

let rendering = 0;

async function render(): Promise<void> {
  const main = document.getElementById('main')!;
  const path = location.hash.replace(/^#/, '') || '/';
  const ticket = ++rendering;
  renderChrome(path);
  if (!session.key() || path === '/sign-in') {
    document.title = 'Sign in · Tripline';
    return signInPage(main);
  }
  const route = ROUTES.find((candidate) => candidate.pattern.test(path));
  if (!route) {
    main.replaceChildren(
      h('h1', {}, 'Not found'),
      h('p', {}, 'No console page at this address. '),
      h('a', { href: '#/fleet' }, 'Go to the fleet'),
    );
    return;
  }
  const parameter = route.pattern.exec(path)?.[1];
  const page = document.createElement('div');
  page.className = 'page';
  main.replaceChildren(h('p', { class: 'loading' }, 'Loading…'));
  main.dataset.page = route.title.toLowerCase();
  main.dataset.ready = 'false';
  document.title = `${parameter ? decodeURIComponent(parameter) : route.title} · Tripline`;
  try {
    await route.page(page, parameter ? decodeURIComponent(parameter) : undefined);
  } catch (error) {
    page.replaceChildren(
      h('h1', {}, route.title),
      h('p', { class: 'error', role: 'alert' }, `Could not load: ${(error as Error).message}`),
    );
  }
  if (ticket !== rendering) return; // the user moved on while this page loaded
  main.replaceChildren(page);
  main.dataset.ready = 'true';
}

function renderChrome(path: string): void {
  const nav = document.getElementById('nav')!;
  const caller = document.getElementById('caller')!;
  const signedIn = session.key() !== null;
  nav.replaceChildren(
    ...(signedIn
      ? ROUTES.filter((route) => route.nav).map((route) =>
          h('a', { href: route.nav!, 'aria-current': route.pattern.test(path) ? 'page' : null }, route.title),
        )
      : []),
  );
  const who = session.caller();
  caller.replaceChildren(
    ...(signedIn && who
      ? [
          h('span', { 'data-role': who.role ?? 'none' }, `${who.name} · ${who.role ?? 'no role'}`),
          h(
            'button',
            {
              type: 'button',
              class: 'link',
              onclick: () => {
                session.signOut();
                location.hash = '#/sign-in';
              },
            },
            'Sign out',
          ),
        ]
      : []),
  );
}

whenUnauthorized(() => {
  session.signOut();
  location.hash = '#/sign-in';
});

window.addEventListener('hashchange', () => {
  void render().then(() => document.getElementById('main')?.focus({ preventScroll: true }));
});
document.addEventListener('DOMContentLoaded', () => {
  // The skip link targets the main element; with hash routes it must not change the hash.
  document.querySelector('a.skip')?.addEventListener('click', (event) => {
    event.preventDefault();
    document.getElementById('main')?.focus();
  });
  void render();
});
