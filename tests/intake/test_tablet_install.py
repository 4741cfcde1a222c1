"""The tablet app is installable: Chromium's own installability check finds nothing missing."""

import pytest

from tests.web import CHROMIUM, CHROMIUM_ARGS, HAVE_CHROMIUM, serving

pytestmark = pytest.mark.skipif(not HAVE_CHROMIUM, reason="Debian's chromium is not installed")


async def test_chromium_finds_the_tablet_app_installable(stack, tmp_path):
    from playwright.async_api import async_playwright

    intake = await stack.start("intake")
    async with serving(intake.app) as base, async_playwright() as pw:
        # A profile on disk: Chromium never offers to install from an incognito window, which is what a
        # plain Playwright context is.
        context = await pw.chromium.launch_persistent_context(
            tmp_path / "profile", executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = await context.new_page()
            await page.goto(f"{base}/tablet/")
            await page.evaluate("navigator.serviceWorker.ready.then(() => true)")
            cdp = await context.new_cdp_session(page)
            # The same check that decides whether Chrome on a tablet offers "Install app".
            errors = (await cdp.send("Page.getInstallabilityErrors"))["installabilityErrors"]
            assert errors == [], errors
            manifest = await cdp.send("Page.getAppManifest")
            assert not manifest.get("errors"), manifest["errors"]
            for size in (192, 512):
                icon = await page.request.get(f"{base}/tablet/icons/icon-{size}.png")
                assert icon.ok and icon.headers["content-type"] == "image/png"
        finally:
            await context.close()
