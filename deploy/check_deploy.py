"""Checks that the deployment files agree with each other and with docs/cli.md.

Run by deploy/validate.sh (with its virtualenv's Python, for PyYAML). Schemas say a file is well
formed; this says the files fit Warden:
- every WARDEN_* variable they set, and every key of the systemd config file, is a setting of
  `warden serve` (docs/cli.md's table): the server ignores an unknown variable silently;
- every container or compose service that mounts Warden's socket runs with a uid or primary
  gid that Warden's allow lists admit (SO_PEERCRED reports those two, not fsGroup);
- the health checks name the socket the server listens on, or, with WARDEN_HTTP_ADDRESS, the
  Kubernetes probes GET /readyz and /healthz on its port and Prometheus's scrape annotations
  (compose labels) name that port and /metrics; the stop timeouts exceed
  shutdown_grace; the systemd config's paths sit in the unit's RuntimeDirectory and
  StateDirectory;
- a Warden on SQLite runs alone on its file (a Deployment of one pod, strategy Recreate; one
  sidecar per data volume in compose); a Warden on PostgreSQL (a postgresql:// URI) may have
  replicas, each with its own socket, and its database settings agree with the rest: the
  Secret and keys it names exist (Kubernetes), the URI names a healthy postgres service whose
  user, database and password secret are the sidecars' (compose).
Prints each problem and exits 1 if there is any.
"""
import base64
import json
import posixpath
import re
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
problems: list[str] = []
# Settings the PostgreSQL backend of issue #17 adds (`--database-password-file`), which the
# deployment files use before docs/cli.md's table lists them. Once the table has a name, its
# entry here is reported: drop it.
AWAITED: set = set()


def problem(where: str, text: str) -> None:
    problems.append(f"{where}: {text}")


def cli_settings() -> tuple[set[str], set[str]]:
    """The file keys and environment variables of docs/cli.md's settings table."""
    keys, envs = set(), {"WARDEN_CONFIG"}
    for line in (ROOT / "docs/cli.md").read_text().splitlines():
        m = re.match(r"^\| `([a-z_]+)` \| `--[a-z-]+` \| `(WARDEN_[A-Z_]+)` \|", line)
        if m:
            keys.add(m.group(1))
            envs.add(m.group(2))
    if len(keys) < 10:
        problem("docs/cli.md", "could not read the settings table")
    for name in AWAITED:
        if name in envs:
            problem("deploy/check_deploy.py", f"docs/cli.md lists {name} now: drop it from AWAITED")
    return keys, envs | AWAITED


def is_postgres(database) -> bool:
    """Whether a database setting selects the PostgreSQL backend (a libpq URI), not SQLite."""
    return str(database).startswith(("postgresql://", "postgres://"))


def seconds(text: str) -> float:
    m = re.fullmatch(r"(\d+)(ms|s|m|h|d)?", str(text).strip())
    if not m:
        raise ValueError(text)
    return int(m.group(1)) * {"ms": 0.001, "s": 1, None: 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]


def ids(text) -> set[int]:
    if text is None:
        return set()
    if isinstance(text, list):
        return {int(x) for x in text}
    return {int(x) for x in str(text).split(",") if x.strip()}


def admitted(env: dict, server_uid: int, uid: int, gid: int) -> str | None:
    """The role Warden gives (uid, gid) under these settings (AccessPolicy.role), or None."""
    admin_uids = ids(env["WARDEN_ADMIN_UIDS"]) if "WARDEN_ADMIN_UIDS" in env else {server_uid}
    if uid in admin_uids or gid in ids(env.get("WARDEN_ADMIN_GIDS")):
        return "admin"
    if uid in ids(env.get("WARDEN_READER_UIDS")) or gid in ids(env.get("WARDEN_READER_GIDS")):
        return "reader"
    return None


def check_env_names(where: str, names, envs: set[str]) -> None:
    for name in names:
        if name.startswith("WARDEN_") and name not in envs:
            problem(where, f"{name} is not a setting of warden serve (docs/cli.md)")


def dockerfile(envs: set[str]) -> dict:
    text = (DEPLOY / "Dockerfile").read_text()
    runtime = text.split(" AS runtime", 1)[1]
    check_env_names("deploy/Dockerfile", set(re.findall(r"\bWARDEN_[A-Z_]+", text)), envs)
    env = dict(re.findall(r"(WARDEN_[A-Z_]+)=(\S+)", runtime))
    user = re.search(r"^USER (\d+):(\d+)$", runtime, re.M)
    health = re.search(r'HEALTHCHECK .*?"--socket", "([^"]+)"', runtime, re.S)
    if not user:
        problem("deploy/Dockerfile", "the runtime stage needs USER uid:gid in numbers")
    if not health or health.group(1) != env.get("WARDEN_SOCKET"):
        problem("deploy/Dockerfile", "HEALTHCHECK must name the socket of ENV WARDEN_SOCKET")
    return {"env": env, "uid": int(user.group(1)) if user else -1, "gid": int(user.group(2)) if user else -1}


def compose(envs: set[str], image: dict) -> None:
    """Every Warden service of compose.yaml: `warden`, or `warden-...` (the replicas)."""
    where = "deploy/compose.yaml"
    doc = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = doc["services"]
    check_env_names(where, [n for s in services.values() for n in s.get("environment", {})], envs)
    wardens = {n: s for n, s in services.items() if n == "warden" or n.startswith("warden-")}
    if "warden" not in wardens:
        problem(where, "no service named warden")
    owners: dict[str, str] = {}  # a socket or data volume -> the Warden service that mounts it
    for name, warden in wardens.items():
        compose_warden(where, doc, name, warden, image, owners)


def volume_at(service: dict, path: str) -> str | None:
    return next((v.split(":")[0] for v in service.get("volumes", []) if v.split(":")[1] == path), None)


def compose_warden(where: str, doc: dict, name: str, warden: dict, image: dict, owners: dict) -> None:
    services = doc["services"]
    env = {**image["env"], **{k: str(v) for k, v in warden.get("environment", {}).items()}}
    uid, gid = (int(x) for x in warden.get("user", f'{image["uid"]}:{image["gid"]}').split(":"))
    socket_dir = env["WARDEN_SOCKET"].rsplit("/", 1)[0]
    volume = volume_at(warden, socket_dir)
    claim(where, owners, name, volume, f"mounts no volume at {socket_dir}", "the socket volume", "one sidecar per socket")
    for other, service in services.items():
        mounts = [v for v in service.get("volumes", []) if v.split(":")[0] == volume]
        if not mounts or other == name:
            continue
        if mounts[0].split(":")[1] != socket_dir:
            problem(where, f"{other} mounts the socket volume at {mounts[0].split(':')[1]}, not {socket_dir}")
        if service.get("environment", {}).get("WARDEN_SOCKET") != env["WARDEN_SOCKET"]:
            problem(where, f"{other} must set WARDEN_SOCKET={env['WARDEN_SOCKET']}")
        if sorted(service.get("profiles", [])) != sorted(warden.get("profiles", [])):
            problem(where, f"{other} shares {name}'s socket but not its profiles")
        if "user" not in service:
            problem(where, f"{other} shares the socket but sets no user uid:gid")
            continue
        u, g = (int(x) for x in str(service["user"]).split(":"))
        if not admitted(env, uid, u, g):
            problem(where, f"{other} runs as {u}:{g}, which {name}'s allow lists do not admit")
        if g != gid and u != uid:
            problem(where, f"{other} runs with primary gid {g}: the socket file (0660, group {gid}) will not open")
    test = warden.get("healthcheck", {}).get("test", [])
    if env["WARDEN_SOCKET"] not in test:
        problem(where, f"{name}'s healthcheck must name WARDEN_SOCKET")
    port = http_port(where, env)
    if port is not None:
        scrape_labels(where, f"{name}'s label", warden.get("labels", {}), port)
    grace = seconds(env.get("WARDEN_SHUTDOWN_GRACE", "10s"))
    if seconds(warden.get("stop_grace_period", "10s")) <= grace:
        problem(where, f"{name}'s stop_grace_period must exceed WARDEN_SHUTDOWN_GRACE")
    database = env.get("WARDEN_DATABASE", "")
    if is_postgres(database):
        compose_postgres(where, doc, name, warden, env)
        return
    data = volume_at(warden, posixpath.dirname(database))
    claim(where, owners, name, data, f"keeps its SQLite file {database} on no volume", "the SQLite volume", "one Warden per file")


def claim(where: str, owners: dict, name: str, volume: str | None, missing: str, what: str, rule: str) -> None:
    """Records that the Warden service `name` mounts `volume`, which no other one may."""
    if volume is None:
        problem(where, f"{name} {missing}")
    elif volume in owners:
        problem(where, f"{name} and {owners[volume]} share {what} {volume}: {rule}")
    else:
        owners[volume] = name


def compose_postgres(where: str, doc: dict, name: str, warden: dict, env: dict) -> None:
    """A sidecar on PostgreSQL: its URI names a healthy service of the file, as its user, on its
    database, with the password secret that service was given."""
    uri = urlsplit(env["WARDEN_DATABASE"])
    host, user, db = uri.hostname, unquote(uri.username or ""), uri.path.lstrip("/")
    database = doc["services"].get(host)
    if database is None:
        problem(where, f"{name}'s WARDEN_DATABASE names the host {host}, which is no service here")
        return
    if warden.get("depends_on", {}).get(host, {}).get("condition") != "service_healthy":
        problem(where, f"{name} must depend on {host} with condition service_healthy")
    if "test" not in database.get("healthcheck", {}):
        problem(where, f"{host} needs a healthcheck (the sidecars wait for it)")
    if database.get("profiles") and not set(warden.get("profiles", [])) <= set(database["profiles"]):
        problem(where, f"{name}'s profiles must be among {host}'s")
    denv = {k: str(v) for k, v in database.get("environment", {}).items()}
    wanted_user = denv.get("POSTGRES_USER", "postgres")
    if user != wanted_user or db != denv.get("POSTGRES_DB", wanted_user):
        problem(where, f"{name}'s WARDEN_DATABASE logs in as {user!r} to {db!r}; {host} makes {wanted_user!r} and its database")
    password_file = env.get("WARDEN_DATABASE_PASSWORD_FILE")
    if password_file is None:
        if uri.password is None and "PGPASSWORD" not in env:
            problem(where, f"{name} gives PostgreSQL no password (URI, PGPASSWORD or WARDEN_DATABASE_PASSWORD_FILE)")
        return
    secret = password_file.removeprefix("/run/secrets/")
    if secret == password_file or secret not in warden.get("secrets", []) or secret not in doc.get("secrets", {}):
        problem(where, f"{name}'s WARDEN_DATABASE_PASSWORD_FILE must be /run/secrets/NAME of a secret it lists")
    if denv.get("POSTGRES_PASSWORD_FILE") != f"/run/secrets/{secret}" or secret not in database.get("secrets", []):
        problem(where, f"{host} must take its password from the secret {secret} too (POSTGRES_PASSWORD_FILE)")


def kubernetes(envs: set[str]) -> None:
    """Each folder of deploy/kubernetes/ is one variant (SQLite; postgres/): its workloads are
    checked against the Secrets of the same folder."""
    folders: dict[Path, list[tuple[str, dict]]] = {}
    for path in sorted((DEPLOY / "kubernetes").rglob("*.yaml")):
        where = str(path.relative_to(ROOT))
        folders.setdefault(path.parent, []).extend((where, d) for d in yaml.safe_load_all(path.read_text()) if d)
    for docs in folders.values():
        secrets = {d["metadata"]["name"]: {**{k: base64.b64decode(v).decode() for k, v in d.get("data", {}).items()},
                                           **d.get("stringData", {})}
                   for _, d in docs if d.get("kind") == "Secret"}
        for where, doc in docs:
            if doc.get("kind") not in ("Deployment", "StatefulSet", "Pod"):
                continue
            spec = doc["spec"]["template"]["spec"] if "template" in doc.get("spec", {}) else doc["spec"]
            pod = spec.get("securityContext", {})
            containers = spec.get("initContainers", []) + spec.get("containers", [])
            wardens = [c for c in containers if c["name"] == "warden"]
            if len(wardens) != 1:
                problem(where, "expected one container named warden")
                continue
            warden = wardens[0]
            if warden not in spec.get("initContainers", []) or warden.get("restartPolicy") != "Always":
                problem(where, "warden should be a native sidecar: an init container with restartPolicy Always")
            env = {e["name"]: e.get("value", e.get("valueFrom")) for e in warden.get("env", [])}
            check_env_names(where, [e["name"] for c in containers for e in c.get("env", [])], envs)
            socket = env.get("WARDEN_SOCKET")
            socket_dir = socket.rsplit("/", 1)[0] if socket else None
            volume = next((m["name"] for m in warden["volumeMounts"] if m["mountPath"] == socket_dir), None)
            if volume is None:
                problem(where, "warden must set WARDEN_SOCKET and mount a volume at its folder")
                continue

            def ident(c):
                sc = c.get("securityContext", {})
                return sc.get("runAsUser", pod.get("runAsUser")), sc.get("runAsGroup", pod.get("runAsGroup"))

            uid, gid = ident(warden)
            kubernetes_probes(where, doc, env, warden, socket)
            sc = warden.get("securityContext", {})
            wanted = {"readOnlyRootFilesystem": True, "allowPrivilegeEscalation": False}
            for key, value in wanted.items():
                if sc.get(key) != value:
                    problem(where, f"warden's securityContext needs {key}: {value}")
            if sc.get("capabilities", {}).get("drop") != ["ALL"]:
                problem(where, "warden's securityContext must drop ALL capabilities")
            grace = seconds(env.get("WARDEN_SHUTDOWN_GRACE", "10s"))
            if spec.get("terminationGracePeriodSeconds", 30) <= grace:
                problem(where, "terminationGracePeriodSeconds must exceed WARDEN_SHUTDOWN_GRACE")
            for c in containers:
                if c is warden or not any(m["name"] == volume for m in c.get("volumeMounts", [])):
                    continue
                u, g = ident(c)
                if u is None or g is None:
                    problem(where, f"{c['name']} shares the socket without a fixed runAsUser and runAsGroup")
                elif not admitted(env, uid, u, g):
                    problem(where, f"{c['name']} runs as {u}:{g}, which Warden's allow lists do not admit")
                elif g != gid and u != uid:
                    problem(where, f"{c['name']} runs with primary gid {g}: the socket (0660, group {gid}) will not open")
                if {"name": "WARDEN_SOCKET", "value": socket} not in c.get("env", []):
                    problem(where, f"{c['name']} must set WARDEN_SOCKET={socket}")
            kubernetes_database(where, doc, spec, warden, secrets)


def http_port(where: str, env: dict) -> int | None:
    """The TCP port of WARDEN_HTTP_ADDRESS (HOST:PORT), None when unset or a Unix socket path."""
    address = env.get("WARDEN_HTTP_ADDRESS")
    if not address or "/" in str(address):
        return None
    port = str(address).rsplit(":", 1)[-1]
    if not port.isdigit():
        problem(where, f"WARDEN_HTTP_ADDRESS {address} is not HOST:PORT")
        return None
    return int(port)


def scrape_labels(where: str, what: str, labels: dict, port: int) -> None:
    """Prometheus's scrape annotations (or compose labels) name the HTTP port and /metrics."""
    wanted = {"prometheus.io/scrape": "true", "prometheus.io/port": str(port), "prometheus.io/path": "/metrics"}
    for key, value in wanted.items():
        if str(labels.get(key)) != value:
            problem(where, f"{what} {key} must be {value!r} (WARDEN_HTTP_ADDRESS), not {labels.get(key)!r}")


def kubernetes_probes(where: str, doc: dict, env: dict, warden: dict, socket: str) -> None:
    """With the HTTP listener: the startup and readiness probes GET /readyz and the liveness probe
    /healthz on its port, which the container declares, and the pod asks Prometheus to scrape it.
    Without it: each probe runs `warden health` on the socket."""
    port = http_port(where, env)
    if port is None:
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            command = warden.get(probe, {}).get("exec", {}).get("command", [])
            if command[:2] != ["warden", "health"] or socket not in command:
                problem(where, f"warden's {probe} must run warden health on {socket} (or set WARDEN_HTTP_ADDRESS)")
        return
    ports = {p.get("name"): p["containerPort"] for p in warden.get("ports", [])}
    if port not in ports.values():
        problem(where, f"warden must declare containerPort {port} (WARDEN_HTTP_ADDRESS)")
    for probe, path in (("startupProbe", "/readyz"), ("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        get = warden.get(probe, {}).get("httpGet", {})
        target = ports.get(get.get("port"), get.get("port"))
        if get.get("path") != path or target != port:
            problem(where, f"warden's {probe} must httpGet {path} on port {port} (WARDEN_HTTP_ADDRESS)")
    annotations = doc["spec"].get("template", {}).get("metadata", {}).get("annotations", {})
    scrape_labels(where, "the pod's annotation", annotations, port)


def kubernetes_database(where: str, doc: dict, spec: dict, warden: dict, secrets: dict) -> None:
    """SQLite: one pod on its volume. PostgreSQL: the Secret and keys named exist in the folder,
    the password file is a key of a Secret mounted for Warden alone, and no pod-bound volume."""
    env = {e["name"]: e for e in warden.get("env", [])}
    database = env.get("WARDEN_DATABASE", {})
    ref = database.get("valueFrom", {}).get("secretKeyRef")
    if ref:
        value = secrets.get(ref["name"], {}).get(ref["key"])
        if ref["name"] not in secrets or value is None:
            problem(where, f"WARDEN_DATABASE names the key {ref['key']} of the Secret {ref['name']}, which this folder does not define")
        elif not is_postgres(value):
            problem(where, f"the Secret {ref['name']}'s {ref['key']} must be a postgresql:// URI")
    elif not is_postgres(database.get("value", "")):
        if doc["kind"] == "Deployment":
            if doc["spec"].get("replicas", 1) != 1 or doc["spec"].get("strategy", {}).get("type") != "Recreate":
                problem(where, "one pod per SQLite file: replicas 1 and strategy Recreate")
        return
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    if any("persistentVolumeClaim" in v for v in volumes.values()):
        problem(where, "a PostgreSQL-backed Warden keeps no state in the pod: no PersistentVolumeClaim")
    path = env.get("WARDEN_DATABASE_PASSWORD_FILE", {}).get("value")
    if path is None:
        return
    mount = next((m for m in warden["volumeMounts"] if m["mountPath"] == posixpath.dirname(path)), None)
    secret = volumes.get(mount["name"], {}).get("secret") if mount else None
    if secret is None:
        problem(where, f"WARDEN_DATABASE_PASSWORD_FILE {path} is not in a Secret volume mounted by warden")
        return
    keys = [i["path"] for i in secret["items"]] if "items" in secret else list(secrets.get(secret["secretName"], {}))
    if secret["secretName"] not in secrets or posixpath.basename(path) not in keys:
        problem(where, f"WARDEN_DATABASE_PASSWORD_FILE {path}: the Secret {secret['secretName']} in this folder has no key {posixpath.basename(path)}")
    mode, pod = secret.get("defaultMode", 0o644), spec.get("securityContext", {})
    warden_gid = warden.get("securityContext", {}).get("runAsGroup", pod.get("runAsGroup"))
    if not (mode & 0o004 or (mode & 0o040 and pod.get("fsGroup") is not None and pod.get("fsGroup") == warden_gid)):
        problem(where, f"the password file (mode {mode:o}, owner root) is not readable by warden: give the pod fsGroup {warden_gid} and the volume defaultMode 0440")
    for c in spec.get("initContainers", []) + spec.get("containers", []):
        if c is not warden and any(m["name"] == mount["name"] for m in c.get("volumeMounts", [])):
            problem(where, f"{c['name']} mounts the database credentials: only warden should")


def systemd(keys: set[str]) -> None:
    where = "deploy/systemd"
    config = json.loads((DEPLOY / "systemd/warden.json").read_text())
    for key in config:
        if key not in keys:
            problem(f"{where}/warden.json", f"{key} is not a setting of warden serve (docs/cli.md)")
    unit = (DEPLOY / "systemd/warden.service").read_text()
    directive = lambda name: (re.findall(rf"^{name}=(.*)$", unit, re.M) or [None])[-1]
    if not str(config.get("socket", "")).startswith(f"/run/{directive('RuntimeDirectory')}/"):
        problem(where, "warden.json's socket must be inside the unit's RuntimeDirectory")
    if not str(config.get("database", "")).startswith(f"/var/lib/{directive('StateDirectory')}/"):
        problem(where, "warden.json's database must be inside the unit's StateDirectory")
    if seconds(directive("TimeoutStopSec") or "90s") <= seconds(config.get("shutdown_grace", "10s")):
        problem(where, "TimeoutStopSec must exceed shutdown_grace")
    if "--config /etc/warden/warden.json" not in (directive("ExecStart") or ""):
        problem(where, "ExecStart must read /etc/warden/warden.json")
    sysusers = (DEPLOY / "systemd/warden.sysusers.conf").read_text()
    uid = int(re.search(r"^u warden (\d+)", sysusers, re.M).group(1))
    env = {f"WARDEN_{k.upper()}": v for k, v in config.items()}
    if admitted(env, uid, uid, uid) is None:
        problem(where, "warden.json's allow lists do not admit warden's own uid (warden health would fail)")


def main() -> int:
    keys, envs = cli_settings()
    image = dockerfile(envs)
    compose(envs, image)
    kubernetes(envs)
    systemd(keys)
    for line in dict.fromkeys(problems):  # one line per problem, however many services share it
        print(f"check_deploy: {line}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
