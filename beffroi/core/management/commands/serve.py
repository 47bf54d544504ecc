"""Start the web server (ASGI) and the task worker together, for ``make run``."""

import os
import signal
import subprocess
import sys
import time

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Lance le serveur web (uvicorn) et le worker de tâches de fond, ensemble."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=1, help="processus web")

    def handle(self, *args, host, port, workers, **options):
        python = sys.executable
        web = [
            python, "-m", "uvicorn", "beffroi.asgi:application",
            "--host", host, "--port", str(port), "--workers", str(workers),
            "--loop", "uvloop", "--http", "httptools", "--lifespan", "on",
            # Streams never end by themselves: cut them after 3 s on shutdown
            # (clients reconnect and replay what they missed).
            "--timeout-graceful-shutdown", "3",
            # No access log: it would write every visitor's IP address.
            "--no-access-log", "--no-server-header",
        ]
        worker = [python, "manage.py", "worker", "--interval", "0.5", "--no-startup-delay"]
        processes = [subprocess.Popen(web), subprocess.Popen(worker)]
        self.stdout.write(self.style.SUCCESS(f"Beffroi tourne sur http://{host}:{port}/ (Ctrl+C pour arrêter)"))

        def stop(*_):
            for process in processes:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)

        signal.signal(signal.SIGTERM, stop)
        try:
            while all(process.poll() is None for process in processes):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            stop()
            for process in processes:
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
        failed = [p.returncode for p in processes if p.returncode not in (0, -signal.SIGTERM, None)]
        if failed:
            os._exit(1)
