"""A preview of a catalog that includes a URL makes no request: the include is refused before pyhocon follows it."""

import shutil
import subprocess
import sys
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from offline.stackfile import ROOT

SKIPPED = shutil.ignore_patterns(".venv", ".git", "build", "__pycache__", ".pytest_cache", ".hypothesis")


class _Recorder(BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        _Recorder.requests.append(self.path)
        body = b'app.leaked = "from the network"\n'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class names it
        pass


def test_a_url_include_makes_no_request_and_fails_with_one_line(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(ROOT, repo, ignore=SKIPPED)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    server.timeout = 1
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/catalog.conf"
        # Proof the server answers: a request that does reach it is counted.
        with urllib.request.urlopen(url, timeout=5) as answer:
            assert answer.status == 200
        assert _Recorder.requests == ["/catalog.conf"]
        _Recorder.requests.clear()
        web = repo / "services" / "apps" / "web.conf"
        web.write_text(web.read_text() + f'\ninclude url("{url}")\n')
        build = tmp_path / "build"
        result = subprocess.run(
            [sys.executable, "-m", "offline.preview", "test", "--quiet", "--build-dir", str(build)],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    assert _Recorder.requests == []
    assert result.returncode == 2, result.stderr
    # The preview's own progress lines ("[1/1] test: exit 2, ...") aside, the catalog's problem is one line.
    problems = [line for line in result.stderr.strip().splitlines() if not line.startswith("[")]
    assert problems[0] == "1 service catalog problem(s):"
    assert problems[1:] == [
        "services/apps/web.conf: line 22 = 'include url': "
        "the catalog never reaches the network or packages: include files under services/ only"
    ]
    assert "Traceback" not in result.stderr
    assert not (build / "test").exists()
