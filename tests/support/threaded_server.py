"""How every test server runs: an HTTP server (self.httpd) on a daemon thread, started and
stopped by the test, or used as a context manager."""
import threading


class ServedInThread:
    """Mixin for a class that sets self.httpd in its constructor."""

    def start(self):
        # A short poll interval: stop() waits for it, once per test.
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
