"""The logged-out login dialog that Meta's sites (Facebook, Instagram) open over public
content a moment after the page: one script, the words and selectors as data."""

from __future__ import annotations

import json

LOGIN_DIALOG_JS = r"""async (args) => {
  const spec = __SPEC__;
  const words = new RegExp(spec.words, 'i');
  const actions = [];
  const visible = (el) => !!el && el.isConnected && el.getClientRects().length > 0;
  const find = () => {
    for (const dialog of document.querySelectorAll('div[role="dialog"]')) {
      const text = dialog.innerText || '';
      const isLogin = words.test(text) || (spec.password && dialog.querySelector('input[name="pass"], input[type="password"]'));
      if (!isLogin) continue;
      const close = dialog.querySelector(spec.close);
      if (visible(close)) return close;
    }
    return null;
  };
  const until = Date.now() + 1500;  // it opens a moment after the page
  let close = find();
  while (!close && Date.now() < until) { await new Promise((r) => setTimeout(r, 150)); close = find(); }
  if (close) {
    (close.closest('[role="button"], button') || close).click();
    actions.push('closed the login dialog (div[role=dialog] [aria-label="Close"])');
  }
  return {actions, more: false};
}"""


def login_dialog_script(words: str, close: str, password: bool = False) -> str:
    """`words`: a regular expression (case-insensitive) the dialog's text matches; `close`:
    the close control inside it; `password`: a dialog with a password field counts too."""
    spec = {"words": words, "close": close, "password": password}
    return LOGIN_DIALOG_JS.replace("__SPEC__", json.dumps(spec))
