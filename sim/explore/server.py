"""Serving the page with solara's server (Starlette on uvicorn), on 127.0.0.1 only.

Solara is configured before it is imported: no usage reports sent, and the app is
`sim.explore.page`. The page's scripts and styles come from the `solara-assets` package (solara's
asset cache, served by the page's own server), so it works with no network. On Ctrl-C (or
SIGTERM) uvicorn closes the connections within `GRACE_SECONDS`, the page's runs stop
(`STOPPING`), and the signal reaches the command.
"""

from __future__ import annotations

import os
import socket
import threading
import webbrowser
from collections.abc import Callable

from sim.explore.ensemble import STOPPING, PageSettings, configure

HOST = "127.0.0.1"
GRACE_SECONDS = 2
SOLARA_ENVIRONMENT = {
    "SOLARA_APP": "sim.explore.page",
    "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
    "SOLARA_TELEMETRY_SERVER_USER_ID": "changwon-sim",  # no id file written under ~/.solara
    "SOLARA_MODE": "production",
}


def listening_socket(port: int) -> socket.socket:
    """A socket listening on 127.0.0.1:`port` (0: any free port); `OSError` if taken."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, port))
        sock.listen(128)  # connections wait in the queue until the server takes them
    except OSError:
        sock.close()
        raise
    return sock


def serve(
    settings: PageSettings,
    sock: socket.socket,
    open_browser: bool,
    announce: Callable[[str], None],
) -> None:
    """Serve the page on `sock` until interrupted; `announce(url)` once it can be opened."""
    os.environ.update(SOLARA_ENVIRONMENT)
    configure(settings)
    STOPPING.clear()
    import uvicorn

    config = uvicorn.Config(
        "solara.server.starlette:app",
        log_level="warning",
        timeout_graceful_shutdown=GRACE_SECONDS,
    )
    server = uvicorn.Server(config)
    url = f"http://{HOST}:{sock.getsockname()[1]}/"
    announce(url)
    if open_browser:
        threading.Thread(target=_open_when_started, args=(server, url), daemon=True).start()
    try:
        server.run(sockets=[sock])
    finally:
        STOPPING.set()
        sock.close()


def _open_when_started(server, url: str) -> None:
    while not server.started and not server.should_exit:
        threading.Event().wait(0.1)
    if server.started:
        webbrowser.open(url)
