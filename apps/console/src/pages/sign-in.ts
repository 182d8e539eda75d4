import { ApiError, session, whoIs } from '../api';
import { h } from '../dom';

export async function signInPage(main: HTMLElement): Promise<void> {
  const input = h('input', {
    id: 'api-key',
    name: 'api-key',
    type: 'password',
    autocomplete: 'off',
    spellcheck: 'false',
    required: true,
    'aria-describedby': 'api-key-hint',
  });
  const error = h('p', { class: 'error', role: 'alert', id: 'sign-in-error' });
  const form = h(
    'form',
    { class: 'sign-in', 'aria-labelledby': 'sign-in-title' },
    h('h1', { id: 'sign-in-title' }, 'Sign in to Tripline'),
    h('label', { for: 'api-key' }, 'API key'),
    input,
    h(
      'p',
      { class: 'hint', id: 'api-key-hint' },
      'Paste a key with the viewer, operator or admin role (`tripline keys create`, or the admin key printed at first start). ' +
        'It is kept in this browser tab only and sent in the Authorization header; closing the tab forgets it.',
    ),
    h('button', { type: 'submit' }, 'Sign in'),
    error,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const key = input.value.trim();
    error.textContent = '';
    if (!key) {
      error.textContent = 'Paste an API key first.';
      return;
    }
    whoIs(key).then(
      (caller) => {
        session.signIn(key, caller);
        input.value = '';
        location.hash = '#/fleet';
      },
      (failure: unknown) => {
        error.textContent =
          failure instanceof ApiError && failure.status === 401
            ? 'This key is not valid (unknown, revoked or expired).'
            : failure instanceof ApiError && failure.status === 403
              ? 'This key has no role that can read (an ingest-only key?). Use a viewer, operator or admin key.'
              : `Could not sign in: ${(failure as Error).message}`;
        input.focus();
      },
    );
  });
  main.replaceChildren(form);
  main.dataset.page = 'sign-in';
  main.dataset.ready = 'true';
  input.focus();
}
