"""Checks that the deployment files agree with each other and with docs/cli.md.

Run by deploy/validate.sh (with its virtualenv's Python, for PyYAML). Schemas say a file is well
formed; this says the files fit Warden:
- every WARDEN_* variable they set, and every key of the systemd config file, is a setting of
  `warden serve` (docs/cli.md's table): the server ignores an unknown variable silently;
- every container or compose service that mounts Warden's socket runs with a uid or primary
  gid that Warden's allow lists admit (SO_PEERCRED reports those two, not fsGroup);
- the health checks name the socket the server listens on; the stop timeouts exceed
  shutdown_grace; the systemd config's paths sit in the unit's RuntimeDirectory and
  StateDirectory.
Prints each problem and exits 1 if there is any.
"""
import json
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
problems: list[str] = []


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
    return keys, envs


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
    where = "deploy/compose.yaml"
    doc = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = doc["services"]
    warden = services["warden"]
    env = {**image["env"], **{k: str(v) for k, v in warden.get("environment", {}).items()}}
    check_env_names(where, [n for s in services.values() for n in s.get("environment", {})], envs)
    uid, gid = (int(x) for x in warden.get("user", f'{image["uid"]}:{image["gid"]}').split(":"))
    socket_dir = env["WARDEN_SOCKET"].rsplit("/", 1)[0]
    volume = next((v.split(":")[0] for v in warden["volumes"] if v.split(":")[1] == socket_dir), None)
    if volume is None:
        problem(where, f"warden mounts no volume at {socket_dir}")
    for name, service in services.items():
        mounts = [v for v in service.get("volumes", []) if v.split(":")[0] == volume]
        if not mounts:
            continue
        if mounts[0].split(":")[1] != socket_dir:
            problem(where, f"{name} mounts the socket volume at {mounts[0].split(':')[1]}, not {socket_dir}")
        if name != "warden" and service.get("environment", {}).get("WARDEN_SOCKET") != env["WARDEN_SOCKET"]:
            problem(where, f"{name} must set WARDEN_SOCKET={env['WARDEN_SOCKET']}")
        if "user" not in service:
            problem(where, f"{name} shares the socket but sets no user uid:gid")
            continue
        u, g = (int(x) for x in str(service["user"]).split(":"))
        if not admitted(env, uid, u, g):
            problem(where, f"{name} runs as {u}:{g}, which Warden's allow lists do not admit")
        if g != gid and u != uid:
            problem(where, f"{name} runs with primary gid {g}: the socket file (0660, group {gid}) will not open")
    test = warden["healthcheck"]["test"]
    if env["WARDEN_SOCKET"] not in test:
        problem(where, "the healthcheck must name WARDEN_SOCKET")
    grace = seconds(env.get("WARDEN_SHUTDOWN_GRACE", "10s"))
    if seconds(warden.get("stop_grace_period", "10s")) <= grace:
        problem(where, "stop_grace_period must exceed WARDEN_SHUTDOWN_GRACE")


def kubernetes(envs: set[str]) -> None:
    for path in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        where = f"deploy/kubernetes/{path.name}"
        for doc in yaml.safe_load_all(path.read_text()):
            if not doc or doc.get("kind") not in ("Deployment", "StatefulSet", "Pod"):
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
            env = {e["name"]: e.get("value") for e in warden.get("env", [])}
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
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                command = warden.get(probe, {}).get("exec", {}).get("command", [])
                if command[:2] != ["warden", "health"] or socket not in command:
                    problem(where, f"warden's {probe} must run warden health on {socket}")
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
            if doc["kind"] == "Deployment":
                if doc["spec"].get("replicas", 1) != 1 or doc["spec"].get("strategy", {}).get("type") != "Recreate":
                    problem(where, "one pod per SQLite file: replicas 1 and strategy Recreate")


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
    for line in problems:
        print(f"check_deploy: {line}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
