"""Behaviours for every page: cookie/consent banners, and starting videos so their
streams are recorded. Platform-specific ones live in archiver/platforms/<name>.py."""

from __future__ import annotations

from .runner import Behaviour

# Known consent managers first (reject/essential-only preferred: the capture then holds no
# consent the person did not give), then buttons by their words inside anything that calls
# itself cookie/consent/gdpr/privacy. Open shadow roots are searched too, and (frames=True)
# the iframes consent managers draw their banners in (Sourcepoint, TrustArc).
CONSENT_JS = r"""async (args) => {
  const actions = [];
  const visible = (el) => {
    if (!el || !el.isConnected) return false;
    const r = el.getBoundingClientRect(); const s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none';
  };
  const roots = [document];
  for (const el of document.querySelectorAll('*')) { if (el.shadowRoot) roots.push(el.shadowRoot); if (roots.length > 50) break; }
  const known = [
    '#onetrust-reject-all-handler', '#CybotCookiebotDialogBodyButtonDecline', '#didomi-notice-disagree-button',
    '[data-cookiebanner="accept_only_essential_button"]', 'button[data-testid="cookie-policy-manage-dialog-decline-button"]',
    'button.sp_choice_type_13', '#truste-consent-required',
    'form[action*="consent.youtube.com"] button[aria-label^="Reject"]', 'button[aria-label="Reject all"]',
    '#onetrust-accept-btn-handler', '#CybotCookiebotDialogBodyLevelButtonLevelOptinAllowAll', '#didomi-notice-agree-button',
    '.qc-cmp2-summary-buttons button[mode="primary"]', '#truste-consent-button', '.fc-cta-consent',
    'button[data-testid="cookie-policy-manage-dialog-accept-button"]', '[data-cookiebanner="accept_button"]',
    'button.sp_choice_type_11',
  ];
  const reject = /^(reject all( cookies)?|reject( cookies)?|decline( optional cookies| all)?|refuse( all| non-essential cookies)?|deny( all)?|only allow essential cookies|only (strictly )?(necessary|essential|required)( cookies)?|(strictly )?(necessary|essential|required) (cookies )?only|(use|allow) (only )?(necessary|essential|required) cookies( only)?|continue without accepting|tolak( semua)?|hanya yang diperlukan)$/i;
  const accept = /^(accept all( cookies)?|accept( cookies)?|i accept|accept and (continue|close)|allow all( cookies)?|i agree|agree( and (proceed|continue|close))?|ok|got it|i understand|terima( semua)?|setuju|izinkan semua)$/i;
  const scope = /cookie|consent|gdpr|privacy|cmp|banner/i;
  const click = (el, why) => {
    const label = (el.innerText || el.getAttribute('aria-label') || el.value || '').trim().slice(0, 60);
    el.click();
    actions.push(`clicked '${label}' (${why})`);
  };
  for (const root of roots) {
    for (const sel of known) {
      const el = root.querySelector(sel);
      if (visible(el)) { click(el, sel); return {actions, more: true}; }
    }
  }
  for (const wanted of [reject, accept]) {
    for (const root of roots) {
      for (const el of root.querySelectorAll('button, [role="button"], a[href="#"], input[type="button"], input[type="submit"]')) {
        const text = (el.innerText || el.getAttribute('aria-label') || el.value || '').trim();
        if (!text || text.length > 60 || !wanted.test(text) || !visible(el)) continue;
        let node = el, inScope = Boolean(args.consentFrame);  // a consent manager's own frame: all banner
        for (let i = 0; node && i < 8; i++, node = node.parentElement || (node.getRootNode && node.getRootNode().host)) {
          const tag = [node.id, typeof node.className === 'string' ? node.className : '', node.getAttribute && node.getAttribute('aria-label'), node.tagName].join(' ');
          if (scope.test(tag)) { inScope = true; break; }
        }
        if (inScope) { click(el, 'consent banner button'); return {actions, more: true}; }
      }
    }
  }
  return {actions, more: false};
}"""

PLAY_JS = r"""async (args) => {
  const actions = [];
  const videos = Array.from(document.querySelectorAll('video')).slice(0, 8);
  const started = [];
  for (const v of videos) {
    if (!v.paused && !v.ended) continue;
    const src = v.currentSrc || v.src || (v.querySelector('source') || {}).src || '';
    try {
      v.muted = true;
      if (v.preload === 'none') v.preload = 'auto';
      const p = v.play();
      if (p && p.then) await Promise.race([p, new Promise((r) => setTimeout(r, 1500))]);
      actions.push(`started video ${src ? src.slice(0, 200) : '(no source yet)'}`);
      started.push(v);
    } catch (e) {
      actions.push(`video would not start: ${String(e).slice(0, 120)}`);
    }
  }
  // until each started video has data to show (its stream is then flowing and recorded; the
  // network-idle step after the behaviours waits for the rest), at most 1.5 s
  const until = Date.now() + 1500;
  while (started.some((v) => v.readyState < 2 && !v.error) && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 50));
  }
  return {actions, more: false};
}"""

CONSENT = Behaviour(
    name="consent",
    description="Dismiss cookie/consent banners (reject or essential-only first, accept if nothing else).",
    script=CONSENT_JS,
    rounds=3,
    pause=0.25,  # a second layer (a "confirm choices" step) gets another round
    frames=True,
)
PLAY_VIDEOS = Behaviour(
    name="play-videos",
    description="Start the page's videos, muted, so their streams are recorded.",
    script=PLAY_JS,
    rounds=1,
)
