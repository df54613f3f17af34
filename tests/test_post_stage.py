"""The post stage with the real browser: login walls and profiles, media fetched in the page
or downloaded with yt-dlp, the consent behaviour. Pages: tests/fixtures/platforms/gated/."""

from __future__ import annotations

import gzip
import hashlib
import json
import zipfile
import stat
from pathlib import Path

import pytest
from PIL import Image
from helpers import HOST_RULES, capture_post, run_cli, warc_records

from archiver.capture.redact import tag
from archiver.profiles import refreshed, save_profile

SECRET = "s3cr3t-value-9f2c"
CSRF = "csrf-7d1e4b90aa53"  # readable by the page, echoed in a request header
# a session kept in local storage (as Bluesky does), sent as a Bearer token and in a header
ACCESS = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZXdpIn0.c2lnbmF0dXJlLWFjY2Vzcw"
REFRESH = "eyJhbGciOiJIUzI1NiJ9.eyJzY29wZSI6InJlZnJlc2gifQ.c2lnbmF0dXJlLXJlZnJlc2g"
# what the session refresh answers with (routes.json): new tokens in a response body
NEW_ACCESS = "eyJhbGciOiJIUzI1NiJ9.eyJuZXciOiJhY2Nlc3MifQ.bmV3LWFjY2Vzcy1zaWduYXR1cmU"
NEW_REFRESH = "eyJhbGciOiJIUzI1NiJ9.eyJuZXciOiJyZWZyZXNoIn0.bmV3LXJlZnJlc2gtc2lnbmF0dXJl"
OAUTH_ACCESS = "at-9c1f0e7d2b6a4853aa10"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def storage_state(port: int) -> dict:
    return {
        "cookies": [
            {"name": "forum_session", "value": SECRET, "domain": "forum.gated.test", "path": "/",
             "expires": -1, "httpOnly": True, "secure": False, "sameSite": "Lax"},
            {"name": "forum_csrf", "value": CSRF, "domain": "forum.gated.test", "path": "/",
             "expires": -1, "httpOnly": False, "secure": False, "sameSite": "Lax"},
        ],
        "origins": [{
            "origin": f"http://forum.gated.test:{port}",
            "localStorage": [
                {"name": "forum_auth", "value": json.dumps({"session": {"accessJwt": ACCESS, "refreshJwt": REFRESH}})},
                {"name": "last_seen", "value": "/t/41/jadwal-ronda-bulan"},
            ],
        }],
    }


def test_login_wall_without_profile(engine, platform_web):
    captured, post = capture_post(engine, platform_web.url("forum.gated.test", "/t/42"))
    prov = json.loads((captured.path / "provenance.json").read_text())
    assert prov["state"] == "login-required"
    assert "login page" in prov["login_required"]
    assert prov["final_url"].endswith("/login?next=%2Ft%2F42")
    assert prov["post"]["login_required"] == prov["login_required"]
    assert any("archiver login" in w for w in prov["warnings"])
    assert prov["profile"] is None
    # whatever was read there is the login page's, and says so
    assert post is None or "login page" in " ".join(prov["post"]["notes"])


def test_profile_shows_the_post_and_media_fetched_in_page(engine, platform_web):
    save_profile(engine.settings, "forum", storage_state(platform_web.port))
    path = Path(engine.settings.platforms.profiles_dir) / "forum.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    captured, post = capture_post(engine, platform_web.url("forum.gated.test", "/t/42"), platforms={"profile": "forum"})
    prov = json.loads((captured.path / "provenance.json").read_text())
    assert prov["state"] == "complete", prov["limits_hit"]
    assert prov["login_required"] is None
    assert prov["profile"]["name"] == "forum" and prov["profile"]["cookies"] == 2
    assert post is not None and post["text"].startswith("Air sudah setinggi lutut")
    assert post["author"]["display_name"] == "Dewi Lestari"
    # the full-size photo was not loaded by the page (it shows a small one): fetched in the page
    [photo] = [m for m in post["media"] if m["url"].endswith("/media/river-42.jpg")]
    assert photo["origin"] == "fetched"
    assert photo["sha256"] == sha256(captured.path / photo["path"])
    records = warc_records(captured.path / "archive.warc.gz")
    [resp] = [r for r in records if r["type"] == "response" and r["uri"].endswith("/media/river-42.jpg")]
    assert hashlib.sha256(resp["payload"]).hexdigest() == photo["sha256"]
    assert photo["warc_uri"] == resp["uri"]
    # the profile's secret is in no file of the capture: the WARC's Cookie headers carry a tag
    for file in captured.path.rglob("*"):
        if file.is_file():
            data = gzip.decompress(file.read_bytes()) if file.name.endswith(".gz") else file.read_bytes()
            for secret in (SECRET, CSRF, ACCESS, REFRESH, NEW_ACCESS, NEW_REFRESH, OAUTH_ACCESS):
                assert secret.encode() not in data, (secret, file.name)
    [request] = [r for r in records if r["type"] == "request" and r["uri"].endswith("/t/42")]
    cookie = {k.lower(): v for k, v in request["http"].items()}["cookie"]
    assert cookie == f"forum_session={tag(SECRET)}; forum_csrf={tag(CSRF)}"
    [api] = [r for r in records if r["type"] == "request" and r["uri"].endswith("/api/unread")]
    assert {k.lower(): v for k, v in api["http"].items()}["x-csrf-token"] == tag(CSRF)
    # the local-storage session: the Bearer credentials and their echo carry tags, the scheme stays
    [me] = [r for r in records if r["type"] == "request" and r["uri"].endswith("/api/me")]
    me_headers = {k.lower(): v for k, v in me["http"].items()}
    assert me_headers["authorization"] == f"Bearer {tag(ACCESS)}"
    assert me_headers["x-refresh-token"] == tag(REFRESH)
    # tokens in bodies: the session refresh's answer, the OAuth form post and its answer;
    # only the credential fields changed, the rest of each body is as sent
    [refreshed] = [r for r in records if r["type"] == "response" and r["uri"].endswith("/xrpc/com.atproto.server.refreshSession")]
    answer = json.loads(refreshed["payload"])
    assert answer["refreshJwt"] == tag(NEW_REFRESH) and answer["accessJwt"] == tag(NEW_ACCESS)
    assert answer["handle"] == "dewi.forum.test" and answer["active"] is True
    [form] = [r for r in records if r["type"] == "request" and r["uri"].endswith("/oauth/token")]
    assert form["payload"] == f"grant_type=refresh_token&refresh_token={tag(REFRESH)}&client_id=forum-web".encode()
    sent_length = {k.lower(): v for k, v in form["http"].items()}.get("content-length")
    assert sent_length in (None, str(len(form["payload"])))  # the stored request says its stored length
    [token] = [r for r in records if r["type"] == "response" and r["uri"].endswith("/oauth/token")]
    assert json.loads(token["payload"]) == {"token_type": "bearer", "expires_in": 3600, "access_token": tag(OAUTH_ACCESS)}
    assert sorted(prov["profile"]["redacted_bodies"]) == sorted([
        f"response {platform_web.url('forum.gated.test', '/xrpc/com.atproto.server.refreshSession')} (accessJwt, refreshJwt)",
        f"request {platform_web.url('forum.gated.test', '/oauth/token')} (refresh_token)",
        f"response {platform_web.url('forum.gated.test', '/oauth/token')} (access_token)",
    ])
    assert prov["profile"]["redacted"] >= 8
    # the site rotated the session (the refresh answer went to local storage): the profile now
    # holds the new tokens, still mode 600, so the next capture is still signed in
    assert prov["profile"]["updated"] is True
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    saved = json.loads(path.read_text())
    [auth] = [i for o in saved["origins"] for i in o["localStorage"] if i["name"] == "forum_auth"]
    assert json.loads(auth["value"])["session"]["refreshJwt"] == NEW_REFRESH
    assert {c["name"]: c["value"] for c in saved["cookies"]}["forum_session"] == SECRET
    assert not any(p.name == "forum.json" for p in captured.path.rglob("*"))


def test_a_profile_is_saved_back_only_when_nothing_it_held_was_dropped():
    cookie = {"name": "sid", "value": "v1", "domain": "example.test", "path": "/", "expires": -1}
    before = {"cookies": [cookie], "origins": [{"origin": "https://example.test", "localStorage": [{"name": "t", "value": "a"}]}]}
    rotated = {"cookies": [dict(cookie, value="v2")], "origins": before["origins"]}
    added = {"cookies": [cookie, dict(cookie, name="csrf")], "origins": before["origins"]}
    signed_out = {"cookies": [], "origins": before["origins"]}  # the site cleared its cookie
    storage_gone = {"cookies": [cookie], "origins": []}
    assert refreshed(before, rotated) and refreshed(before, added)
    assert not refreshed(before, before)
    assert not refreshed(before, signed_out) and not refreshed(before, storage_gone)


def test_video_downloaded_with_ytdlp_when_the_page_does_not_load_it(engine, platform_web):
    """preload=none video, bodies capped below its size: yt-dlp fetches it; resource record."""
    url = platform_web.url("forum.gated.test", "/t/43")
    captured, post = capture_post(
        engine, url, platforms={"yt_dlp": True}, limits={"max_response_bytes": 30_000}
    )
    assert post is not None
    [video] = [m for m in post["media"] if m["type"] == "video"]
    assert video["origin"] == "yt-dlp", (video, json.loads((captured.path / "provenance.json").read_text())["post"])
    file = captured.path / video["path"]
    assert file.stat().st_size == (Path(__file__).parent / "fixtures/platforms/_media/clip.mp4").stat().st_size
    assert video["sha256"] == sha256(file)
    records = warc_records(captured.path / "archive.warc.gz")
    [res] = [r for r in records if r["type"] == "resource" and r["uri"] == video["warc_uri"]]
    assert res["uri"].endswith("/media/clip-43.mp4")
    assert hashlib.sha256(res["payload"]).hexdigest() == video["sha256"]
    assert res["warc"]["Content-Type"] == "video/mp4"
    steps = {s["name"]: s for s in json.loads((captured.path / "provenance.json").read_text())["steps"]}
    assert steps["post-video"]["outcome"] == "ok"


def test_video_over_its_size_limit_is_a_note_not_a_failure(engine, platform_web):
    url = platform_web.url("forum.gated.test", "/t/43")
    captured, post = capture_post(
        engine, url, platforms={"yt_dlp": True, "max_video_bytes": 10_000}, limits={"max_response_bytes": 30_000}
    )
    assert captured.state.value in ("complete", "partial")
    [video] = [m for m in post["media"] if m["type"] == "video"]
    assert video["path"] is None and video["sha256"] is None
    assert "not recorded whole" in video["note"]
    prov = json.loads((captured.path / "provenance.json").read_text())
    assert any("max_video_bytes" in n for n in prov["post"]["notes"]), prov["post"]["notes"]
    assert prov["post"]["media_missing"] >= 1


def test_consent_banner_rejected(engine, platform_web):
    captured, _ = capture_post(engine, platform_web.url("news.consent.test", "/story/7"))
    prov = json.loads((captured.path / "provenance.json").read_text())
    [consent] = [b for b in prov["behaviours"] if b["name"] == "consent"]
    assert consent["actions"][0] == "clicked 'Reject All' (#onetrust-reject-all-handler)"
    assert consent["outcome"] == "ok"
    dom = (captured.path / "dom.html").read_text()
    assert 'data-consent="rejected"' in dom


def test_consent_banner_in_a_consent_managers_frame_rejected_and_ads_left_alone(engine, platform_web):
    """Sourcepoint draws its message in an iframe of its own origin; an ad frame on the same
    page has a yellow 'cookie' banner with OK / Accept all buttons that must not be clicked."""
    captured, _ = capture_post(engine, platform_web.url("news.consent.test", "/story/9"))
    prov = json.loads((captured.path / "provenance.json").read_text())
    [consent] = [b for b in prov["behaviours"] if b["name"] == "consent"]
    # (a second identical click can happen if the wrapper's postMessage is slow to remove the frame)
    assert consent["actions"][0] == "in frame cdn.privacy-mgmt.test: clicked 'Reject all' (button.sp_choice_type_13)"
    assert set(consent["actions"]) == {consent["actions"][0]}
    assert consent["outcome"] == "ok" and consent["rounds"] >= 2
    dom = (captured.path / "dom.html").read_text()
    assert 'data-consent="rejected"' in dom and 'id="sp_message_container_1053218"' not in dom
    assert "data-ad-clicked" not in dom
    # the screenshot shows the page (white below the short article), not the dimmed overlay
    shot = Image.open(captured.path / "screenshot-viewport.png").convert("RGB")
    assert sum(shot.getpixel((shot.width // 2, shot.height * 3 // 4))) > 600  # overlay: ~(102, 102, 102)


def test_a_page_that_replaces_dom_functions_cannot_stop_the_behaviours_or_the_scroll(engine, platform_web):
    """The page replaces click, querySelector(All), Array.from, getComputedStyle, scrollTo and
    setTimeout with functions that do nothing: our scripts run in an isolated world and do
    not see them. The banner is rejected and the lazy image 9000px down is reached."""
    captured, _ = capture_post(engine, platform_web.url("news.consent.test", "/story/10"))
    prov = json.loads((captured.path / "provenance.json").read_text())
    [consent] = [b for b in prov["behaviours"] if b["name"] == "consent"]
    assert consent["actions"] == ["clicked 'Reject All' (#onetrust-reject-all-handler)"], consent
    assert 'data-consent="rejected"' in (captured.path / "dom.html").read_text()
    steps = {s["name"]: s for s in prov["steps"]}
    assert steps["scroll"]["outcome"] == "ok" and steps["scroll"]["detail"].endswith("bottom"), steps["scroll"]
    records = warc_records(captured.path / "archive.warc.gz")
    assert [r for r in records if r["type"] == "response" and r["uri"].endswith("/media/lazy-10.jpg")]


# -- the commands, as a person runs them -------------------------------------------------


@pytest.fixture
def cli_config(tmp_path) -> Path:
    cfg = tmp_path / "archiver.toml"
    cfg.write_text(
        f"output_dir = {json.dumps(str(tmp_path / 'captures'))}\n"
        f"[browser]\nextra_args = [{json.dumps(HOST_RULES)}]\n"
        "[network]\nallow_private = true\n"
        "[limits]\nnetwork_idle_timeout = 4.0\nnetwork_idle_quiet = 0.3\n"
        f"[identity]\nkey_path = {json.dumps(str(tmp_path / 'station.pem'))}\n"
        "[timestamp]\nenabled = false\n"
        f"[platforms]\nyt_dlp = false\nprofiles_dir = {json.dumps(str(tmp_path / 'profiles'))}\n"
    )
    return cfg


def test_login_command_saves_a_profile_and_capture_uses_it(tmp_path, cli_config, platform_web):
    url = platform_web.url("forum.gated.test", "/t/42")
    # sign in (the fixture's login page submits itself with ?auto=1; --wait stands in for Enter)
    login = run_cli("login", "forum", platform_web.url("forum.gated.test", "/login?auto=1"),
                    "--headless", "--wait", "2", "--config", str(cli_config))
    assert login.returncode == 0, login.stderr
    saved = tmp_path / "profiles" / "forum.json"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert stat.S_IMODE(saved.parent.stat().st_mode) == 0o700
    assert SECRET in saved.read_text()
    listed = run_cli("login", "--list", "--config", str(cli_config))
    assert "forum: 1 cookies" in listed.stdout

    walled = run_cli("capture", url, "--case", "c", "--json", "--config", str(cli_config))
    first = json.loads(walled.stdout.splitlines()[0])
    assert first["state"] == "login-required" and first["job_state"] == "partial"

    done = run_cli("capture", url, "--case", "c", "--again", "--profile", "forum", "--json", "--config", str(cli_config))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[0])
    assert result["state"] == "complete" and result["profile"] == "forum"
    assert result["post"]["found"] and result["post"]["path"] == "post.json"
    # the export of the case carries neither the profile nor its secret (WARCs included)
    bundle = tmp_path / "case.zip"
    exported = run_cli("export", str(tmp_path / "captures" / "c"), "--bundle", str(bundle), "--config", str(cli_config))
    assert exported.returncode == 0, exported.stderr
    with zipfile.ZipFile(bundle) as zf:
        names = zf.namelist()
        assert not any(n.endswith("forum.json") for n in names)
        for n in names:
            data = zf.read(n)
            assert SECRET.encode() not in (gzip.decompress(data) if n.endswith(".gz") else data), n


def test_profile_errors_are_one_line(tmp_path, cli_config, platform_web):
    url = platform_web.url("forum.gated.test", "/t/42")
    missing = run_cli("capture", url, "--profile", "nobody", "--config", str(cli_config))
    assert missing.returncode == 2
    assert "no login profile named 'nobody'" in missing.stderr and "Traceback" not in missing.stderr
    bad = run_cli("login", "../etc", "--storage-state", str(cli_config), "--config", str(cli_config))
    assert bad.returncode == 2 and "bad profile name" in bad.stderr
    not_state = tmp_path / "state.json"
    not_state.write_text('{"cookies": [{"name": "a"}]}')
    wrong = run_cli("login", "x", "--storage-state", str(not_state), "--config", str(cli_config))
    assert wrong.returncode == 2 and "lacks name/value/domain/path" in wrong.stderr
    nodisplay = run_cli("login", "x", "https://example.org/login", "--config", str(cli_config), env={"DISPLAY": ""})
    assert nodisplay.returncode == 2 and "no display" in nodisplay.stderr
    inside = run_cli("login", "x", "--storage-state", str(not_state), "--config", str(cli_config),
                     env={"ARCHIVER_PLATFORMS__PROFILES_DIR": str(tmp_path / "captures" / "p")})
    assert inside.returncode == 2 and "inside the captures folder" in inside.stderr


def test_media_of_a_deduplicated_capture_are_still_files(engine, web):
    """The second capture of a post stores its photos as revisit records (no payload in
    its WARC): the media files come from the bytes seen during the capture, the same."""
    first, post1 = capture_post(engine, f"{web.main}/post/1")
    second, post2 = capture_post(engine, f"{web.main}/post/1")
    revisits = [r for r in warc_records(second.path / "archive.warc.gz") if r["type"] == "revisit"]
    assert any(r["uri"].endswith("/media/photo-1.jpg") for r in revisits)
    assert post1["media"] and len(post1["media"]) == len(post2["media"])
    for a, b in zip(post1["media"], post2["media"]):
        assert b["path"] and b["sha256"] == a["sha256"] == sha256(second.path / b["path"])
    assert not (second.path / ".media-spool").exists()


def test_ytdlp_download_is_stopped_at_video_timeout(tmp_path):
    """A video server that trickles forever: yt-dlp (a child process) is killed at the time
    limit, no partial file is left, and the reason is a sentence."""
    import asyncio
    import socket
    import threading
    import time

    from archiver.capture.ytdlp import download

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    port = server.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            conn.recv(4096)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nContent-Length: 10000000\r\n\r\n")
            try:
                while not stop.is_set():
                    conn.sendall(b"\0" * 1000)
                    time.sleep(0.1)
            except OSError:
                pass
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        t0 = time.monotonic()
        result = asyncio.run(download(f"http://127.0.0.1:{port}/slow.mp4", tmp_path / "out", 10**9, 3.0))
        took = time.monotonic() - t0

        async def cancelled() -> None:  # the capture itself stopped (Ctrl-C, step budget)
            task = asyncio.create_task(download(f"http://127.0.0.1:{port}/slow.mp4", tmp_path / "out2", 10**9, 60))
            await asyncio.sleep(2.0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

        asyncio.run(cancelled())
        time.sleep(0.5)
        alive = [p for p in Path("/proc").glob("[0-9]*") if running_with(p, str(tmp_path / "out2"))]
        assert alive == [], "yt-dlp kept running after the capture was cancelled"
    finally:
        stop.set()
        thread.join(5)
        server.close()
    assert result.path is None
    assert result.note == "yt-dlp did not finish within video_timeout (3s)"
    assert took < 8
    assert not [p for p in (tmp_path / "out").iterdir() if p.is_file()]


def running_with(proc: Path, word: str) -> bool:
    """A live (not zombie) process whose command line holds word; one that ends while it is
    read is not running."""
    try:
        state = (proc / "stat").read_text().rpartition(")")[2].split()[0]
        return state != "Z" and word.encode() in (proc / "cmdline").read_bytes()
    except OSError:
        return False


def test_hidden_sign_in_form_on_a_long_page_is_no_login_wall(engine, platform_web):
    captured, post = capture_post(engine, platform_web.url("news.consent.test", "/story/8"))
    prov = json.loads((captured.path / "provenance.json").read_text())
    assert prov["state"] == "complete" and prov["login_required"] is None
    assert post is not None and post["text"].startswith("The river authority said")


def test_sign_in_page_without_redirect_is_a_login_wall(engine, platform_web):
    captured, post = capture_post(engine, platform_web.url("forum.gated.test", "/signin-only"))
    prov = json.loads((captured.path / "provenance.json").read_text())
    assert prov["state"] == "login-required"
    assert prov["login_required"] == "the page shows a sign-in form and no post"
    assert post is None


def test_ytdlp_gets_the_profile_cookies_for_members_only_video(engine, platform_web, tmp_path):
    """A video only a signed-in member may fetch: yt-dlp gets the profile's cookies (through
    a temporary cookies file outside the capture); without a profile it is refused (a note)."""
    state = storage_state(platform_web.port)
    state["cookies"].append({"name": "forum_session", "value": SECRET, "domain": "127.0.0.1", "path": "/",
                             "expires": -1, "httpOnly": True, "secure": False, "sameSite": "Strict"})
    save_profile(engine.settings, "member", state)
    url = platform_web.url("forum.gated.test", "/t/44")
    captured, post = capture_post(engine, url, platforms={"yt_dlp": True, "profile": "member"})
    [video] = [m for m in post["media"] if m["type"] == "video"]
    assert video["origin"] == "yt-dlp", json.loads((captured.path / "provenance.json").read_text())["post"]
    clip = Path(__file__).parent / "fixtures/platforms/_media/clip.mp4"
    assert video["sha256"] == sha256(clip) == sha256(captured.path / video["path"])
    for file in captured.path.rglob("*"):
        assert "cookies" not in file.name
        if file.is_file():
            data = gzip.decompress(file.read_bytes()) if file.name.endswith(".gz") else file.read_bytes()
            assert SECRET.encode() not in data, file.name

    anonymous, post = capture_post(engine, url, platforms={"yt_dlp": True})
    [video] = [m for m in post["media"] if m["type"] == "video"]
    assert video["path"] is None
    notes = json.loads((anonymous.path / "provenance.json").read_text())["post"]["notes"]
    assert any("403" in n for n in notes), notes


def test_media_items_past_the_cap_are_listed_not_archived(engine, web):
    captured, post = capture_post(engine, f"{web.main}/post/1", platforms={"max_media_items": 1})
    first, second = post["media"]
    assert first["path"] and first["sha256"] == sha256(captured.path / first["path"])
    assert second["path"] is None and second["note"] == "not archived: past max_media_items"
    notes = json.loads((captured.path / "provenance.json").read_text())["post"]["notes"]
    assert "1 media items past max_media_items (1) not archived" in notes
    assert sorted(p.name for p in (captured.path / "media").iterdir()) == [Path(first["path"]).name]
