"""Part of a hostile submission: a package that shadows the real ``grader`` when the worker's
interpreter puts the submission's folder first on sys.path.

It says which user it runs as and whether it can read a root-only file (it prints only the
size, never the content), then lets the real grader package take over (an editable install's
finder still resolves grader.worker), so grading goes on as if nothing happened.
"""
import os

print(f"hostile:worker_shadowing grader/__init__.py ran as uid={os.getuid()} "
      f"euid={os.geteuid()}", flush=True)
try:
    with open("/etc/shadow", "rb") as fh:
        print(f"hostile:worker_shadowing read /etc/shadow: {len(fh.read())} bytes", flush=True)
except OSError as exc:
    print(f"hostile:worker_shadowing could not read /etc/shadow: {exc.strerror}", flush=True)
