"""Checks that deploy/check_deploy.py notices what it is there to notice.

Run by deploy/validate.sh. Each case copies deploy/ and docs/cli.md to a scratch folder, breaks
one thing in one file (a text replacement, which must apply), runs check_deploy.py on the copy
and expects exit 1 with a message containing the given words. The untouched copy must pass.
Prints each case that misbehaves and exits 1 if there is any.
"""
import contextlib
import io
import shutil
import sys
import tempfile
from pathlib import Path

import check_deploy

ROOT = Path(__file__).resolve().parent.parent
K8S_PG = "deploy/kubernetes/postgres/deployment.yaml"
COMPOSE = "deploy/compose.yaml"
SOCKET_2 = "      - warden-socket-2:/run/warden\n  app-2:"
DEPENDS = "  depends_on:\n    postgres:\n      condition: service_healthy\n  restart"

# (file, text, replacement, words the report must contain)
CASES = [
    ("deploy/kubernetes/deployment.yaml", "replicas: 1 #", "replicas: 3 #", "one pod per SQLite file"),
    (K8S_PG, "key: uri", "key: url", "key url of the Secret warden-postgres"),
    ("deploy/kubernetes/postgres/secret.yaml", "uri: postgresql://", "uri: /var/lib/x.db #", "must be a postgresql:// URI"),
    (K8S_PG, "value: /etc/warden/postgres/password", "value: /etc/warden/postgres/pass", "has no key pass"),
    (K8S_PG, "value: /etc/warden/postgres/password", "value: /etc/warden/password", "not in a Secret volume"),
    (K8S_PG, "defaultMode: 0440", "defaultMode: 0400", "not readable by warden"),
    (K8S_PG, "          emptyDir:\n            sizeLimit: 64Mi", "          persistentVolumeClaim:\n            claimName: x",
     "no PersistentVolumeClaim"),
    (K8S_PG, "      containers:\n        - name: app\n", "      containers:\n        - name: app\n          envFrom: []\n", None),
    ("deploy/kubernetes/deployment.yaml", "path: /healthz", "path: /readyz", "livenessProbe must httpGet /healthz"),
    (K8S_PG, "              path: /readyz\n              port: http\n            periodSeconds: 10",
     "              path: /healthz\n              port: http\n            periodSeconds: 10", "readinessProbe must httpGet /readyz"),
    (K8S_PG, "containerPort: 9147", "containerPort: 9148", "must declare containerPort 9147"),
    ("deploy/kubernetes/deployment.yaml", 'prometheus.io/port: "9147"', 'prometheus.io/port: "9090"',
     "prometheus.io/port must be '9147'"),
    (COMPOSE, '      prometheus.io/path: /metrics', '      prometheus.io/path: /stats', "prometheus.io/path must be '/metrics'"),
    (COMPOSE, SOCKET_2, SOCKET_2.replace("socket-2", "socket-1"), "share the socket volume"),
    (COMPOSE, "@postgres:5432", "@db:5432", "names the host db"),
    (COMPOSE, "postgresql://warden@", "postgresql://app@", "logs in as 'app'"),
    (COMPOSE, "POSTGRES_PASSWORD_FILE: /run/secrets/postgres-password", "POSTGRES_PASSWORD_FILE: /run/secrets/x",
     "must take its password from the secret"),
    (COMPOSE, "  secrets: [postgres-password]\n  user:", "  user:", "must be /run/secrets/NAME"),
    (COMPOSE, DEPENDS, "  restart", "condition service_healthy"),
]


def run(copy: Path) -> tuple[int, str]:
    """check_deploy.py's main() on the copy, in this process (a process per case would take
    seconds more)."""
    check_deploy.ROOT, check_deploy.DEPLOY = copy, copy / "deploy"
    check_deploy.problems.clear()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = check_deploy.main()
    return code, out.getvalue()


def main() -> int:
    failures = []
    with tempfile.TemporaryDirectory() as scratch:
        for n, case in enumerate([None, *CASES]):
            copy = Path(scratch) / str(n)
            shutil.copytree(ROOT / "deploy", copy / "deploy", ignore=shutil.ignore_patterns(".venv*", "__pycache__"))
            (copy / "docs").mkdir()
            shutil.copy(ROOT / "docs/cli.md", copy / "docs/cli.md")
            if case is None:
                code, out = run(copy)
                if code != 0:
                    failures.append(f"the files as they are: exit {code}\n{out}")
                continue
            path, text, replacement, words = case
            target = copy / path
            if text not in target.read_text():
                failures.append(f"{path}: the case's text is no longer in the file: {text!r}")
                continue
            target.write_text(target.read_text().replace(text, replacement, 1))
            code, out = run(copy)
            if words is None:  # a change check_deploy.py must accept
                if code != 0:
                    failures.append(f"{path}: {replacement!r} should pass, got exit {code}\n{out}")
            elif code != 1 or words not in out:
                failures.append(f"{path}: {replacement!r} should be reported with {words!r}; got exit {code}\n{out}")
    for line in failures:
        print(f"test_check_deploy: {line}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
