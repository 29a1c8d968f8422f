"""Headless Chromium for the tests that drive a page: Debian's ``chromium`` and
``chromium-driver``, installed from the distribution's packages when missing (never a browser
download), and one WebDriver session per test with a fresh profile, stopped afterwards."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
PACKAGES = ("chromium", "chromium-driver")
INSTALL_SECONDS = 900
# Flags for a browser with no display, no sandbox (the suite may run as root), and nothing that
# talks to the network on its own.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--window-size=1280,1024",
)


def chromium_install() -> None:
    """Install Chromium and its driver from the distribution's packages if they are missing."""
    if CHROMIUM.exists() and CHROMEDRIVER.exists():
        return
    apt_get = shutil.which("apt-get")
    assert apt_get, f"{CHROMIUM} is missing and there is no apt-get to install {PACKAGES}"
    assert os.geteuid() == 0, (
        f"{CHROMIUM} is missing: install it with apt-get install {' '.join(PACKAGES)} (as root)"
    )
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in ([apt_get, "update", "-qq"], [apt_get, "install", "-y", "-qq", *PACKAGES]):
        done = subprocess.run(  # noqa: S603 - the distribution's package manager
            command, env=environment, capture_output=True, text=True, timeout=INSTALL_SECONDS
        )
        assert done.returncode == 0, f"{' '.join(command)}:\n{done.stdout}\n{done.stderr}"
    assert CHROMIUM.exists() and CHROMEDRIVER.exists(), f"{PACKAGES} installed no {CHROMIUM}"


@contextmanager
def chromium(log: Path) -> Iterator[webdriver.Chrome]:
    """A headless Chromium driven through chromedriver, with a profile of its own."""
    chromium_install()
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(str(CHROMEDRIVER), log_output=str(log))
    driver = webdriver.Chrome(service=service, options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
