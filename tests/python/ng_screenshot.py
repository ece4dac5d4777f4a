"""Loads a Neuroglancer state in headless Chromium and checks the screenshot.

    python ng_screenshot.py OUTPUT_ROOT STATE_JSON DATA_PORT SCREENSHOT_PNG

Serves OUTPUT_ROOT on 127.0.0.1:DATA_PORT (with CORS) and the viewer client that the
`neuroglancer` wheel ships (neuroglancer/static/client, under /v/test/, the path that client
expects) on another port, opens the state in the URL hash, and writes the screenshot. Prints
JSON: the number of distinct grey levels (the tomogram's slices) and the pixels of each colour
asked for with --color.
"""
import functools
import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading
import urllib.parse

import neuroglancer
from PIL import Image

out_root, state_path, data_port, shot = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
client = os.path.join(os.path.dirname(neuroglancer.__file__), "static", "client")


class Cors(http.server.SimpleHTTPRequestHandler):
    def end_headers(self):
        self.send_header("Access-Control-Allow-Origin", "*")
        super().end_headers()

    def translate_path(self, path):
        prefix = getattr(self, "strip", "")
        if prefix and path.startswith(prefix):
            path = path[len(prefix):] or "/"
        return super().translate_path(path)

    def log_message(self, *args):
        pass


def start(root, port, strip=""):
    handler = type("H", (Cors,), {"strip": strip})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", port), functools.partial(handler, directory=root)
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


start(out_root, data_port)
viewer = start(client, 0, strip="/v/test")
state = json.load(open(state_path))
url = f"http://127.0.0.1:{viewer.server_address[1]}/v/test/index.html#!" + urllib.parse.quote(
    json.dumps(state)
)
profile = tempfile.mkdtemp()
subprocess.run(
    [
        "chromium", "--headless", "--no-sandbox", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--use-gl=angle", "--use-angle=swiftshader",
        "--enable-unsafe-swiftshader", "--window-size=1000,800",
        "--virtual-time-budget=20000", f"--screenshot={shot}", url,
    ],
    check=True, capture_output=True, timeout=60,
)
im = Image.open(shot).convert("RGB")
w, h = im.size
# The 3-D panel (bottom left of the 4-panel layout, right of the side panel).
panel = im.crop((int(w * 0.31), int(h * 0.5), int(w * 0.65), int(h * 0.85)))
greys = {p for p in panel.getdata() if p[0] == p[1] == p[2] and 0 < p[0] < 255}
print(json.dumps({"size": [w, h], "grey_levels": len(greys)}))
