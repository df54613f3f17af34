"""`archiver login NAME URL`: sign in once in a visible browser; the cookies and local
storage are saved as a named profile (mode 600, outside the captures folder) that
`archiver capture --profile NAME` starts from. `--storage-state FILE` imports a Playwright
storage-state file instead (made on another machine, or by a script)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import typer

from ..capture.browser import BASE_FLAGS, find_browser
from ..capture.netguard import BadURL, validate_url
from ..errors import UserError
from ..profiles import check_name, check_outside_captures, list_profiles, profile_path, save_profile, validate_state
from .common import settings_for
from .report import out


def login(
    name: str = typer.Argument(None, help="Profile name, e.g. x-newsroom."),
    url: str = typer.Argument(None, help="Where to sign in, e.g. https://x.com/login."),
    storage_state: Path = typer.Option(
        None, "--storage-state", help="Import a Playwright storage-state JSON file instead of signing in."
    ),
    list_: bool = typer.Option(False, "--list", help="List the saved profiles."),
    headless: bool = typer.Option(False, "--headless", hidden=True, help="Tests: no window."),
    wait: float = typer.Option(None, "--wait", hidden=True, help="Tests: save after N seconds instead of Enter."),
    config: Path = typer.Option(None, "--config", help="TOML settings file."),
    out_dir: Path = typer.Option(None, "--out", help="Output folder (profiles must stay outside it)."),
) -> None:
    """Save a login profile for captures that need a signed-in account."""
    settings = settings_for(config, out_dir)
    if list_:
        for p in list_profiles(settings):
            saved = p.saved.strftime("%Y-%m-%d %H:%M UTC") if p.saved else "?"
            out.print(f"{p.name}: {p.cookies} cookies, saved {saved}")
        return
    if not name:
        raise UserError("no profile name given", hint="archiver login NAME URL (or --list)")
    check_name(name)
    target = profile_path(settings, name)
    check_outside_captures(settings, target)
    if storage_state is not None:
        try:
            data = json.loads(storage_state.read_text())
        except OSError as exc:
            raise UserError(f"cannot read {storage_state}: {exc.strerror or exc}") from None
        except ValueError as exc:
            raise UserError(f"{storage_state} is not JSON: {exc}") from None
        state = validate_state(data, str(storage_state))
    else:
        if not url:
            raise UserError("no URL to sign in at", hint=f"archiver login {name} https://site/login (or --storage-state FILE)")
        try:
            url = validate_url(url)
        except BadURL as exc:
            raise UserError(str(exc)) from None
        if not headless and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY") and sys.platform.startswith("linux"):
            raise UserError(
                "no display to open a browser window on",
                hint="run `archiver login` on a desktop, or import a saved state with --storage-state FILE",
            )
        state = asyncio.run(_sign_in(settings, url, headless, wait))
    path = save_profile(settings, name, state)
    out.print(f"profile {name!r} saved: {len(state.get('cookies', []))} cookies -> {path} (mode 600)")
    out.print(f"capture with it: archiver capture --profile {name} URL")


async def _sign_in(settings, url: str, headless: bool, wait: float | None) -> dict:
    from playwright.async_api import Error as PlaywrightError
    from playwright.async_api import async_playwright

    executable = find_browser(settings.browser)
    args = [f for f in BASE_FLAGS if f not in ("--hide-scrollbars", "--mute-audio")]
    args += settings.browser.extra_args
    if os.geteuid() == 0:
        args.append("--no-sandbox")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=executable, headless=headless, args=args)
        try:
            context = await browser.new_context(no_viewport=not headless, locale=settings.browser.locale)
            page = await context.new_page()
            try:
                await page.goto(url, timeout=60_000)
            except PlaywrightError as exc:
                raise UserError(f"could not open {url}: {exc.message.splitlines()[0]}") from None
            if wait is not None:
                await asyncio.sleep(wait)
            else:
                out.print("Sign in in the browser window, then press Enter here to save the profile.")
                closed = asyncio.get_running_loop().create_future()
                browser.on("disconnected", lambda _: closed.done() or closed.set_result(None))
                enter = asyncio.create_task(asyncio.to_thread(sys.stdin.readline))
                await asyncio.wait([enter, closed], return_when=asyncio.FIRST_COMPLETED)
                if closed.done():
                    raise UserError("the browser window was closed before the profile was saved",
                                    hint="run it again and press Enter here after signing in")
            return await context.storage_state()
        finally:
            await browser.close()
