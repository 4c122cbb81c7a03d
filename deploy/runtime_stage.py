"""Runs deploy/Dockerfile's runtime stage without Docker, then the container it would make.

Called by deploy/build-stage.sh (root only: it uses chroot and mounts). What it does:
1. A Debian 12 minbase root (debootstrap, as Docker's debian:bookworm-slim is made), built once
   and kept as a tarball in the scratch folder; a fresh copy for each run.
2. The Dockerfile's runtime stage, read from the Dockerfile itself, instruction by instruction:
   RUN (as root, in the chroot: the same apt-get and useradd lines), COPY --from=build (the
   binary build-stage.sh made), ENV, USER, WORKDIR, VOLUME, STOPSIGNAL, HEALTHCHECK,
   ENTRYPOINT. An instruction it does not know stops it, so the two cannot drift apart quietly.
3. The container, as Kubernetes' deployment.yaml runs it: the root file system read-only, the
   VOLUMEs and /tmp writable, /proc mounted, the ENTRYPOINT as USER in WORKDIR with the image's
   ENV and the allow lists of compose.yaml. Then it checks: the HEALTHCHECK passes within the
   start period; the socket is 0660 and owned by USER; the app's identity of compose.yaml
   (10002:10001) writes; another uid of group 10001 reads but may not write; a stranger's uid
   and gid cannot connect; STOPSIGNAL makes it exit 0 and remove the socket; nothing was written
   outside the volumes (the read-only root would have refused it).
Prints one line on success; on failure, what failed and the server's log, and exits 1.
"""
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = ROOT / ".build-deploy"
BASE = SCRATCH / "runtime-base-bookworm.tar"
DOCKER_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def fail(text: str, log: Path | None = None) -> None:
    print(f"runtime-stage: FAILED: {text}")
    if log and log.exists():
        print(log.read_text())
    sys.exit(1)


def mirror() -> str:
    sources = Path("/etc/apt/sources.list.d/debian.sources")
    if sources.exists():
        m = re.search(r"^URIs:\s*(\S+/debian)\s*$", sources.read_text(), re.M)
        if m:
            return m.group(1)
    return "http://deb.debian.org/debian"


def base_tarball() -> None:
    if BASE.exists():
        return
    with tempfile.TemporaryDirectory(dir=SCRATCH) as tmp:
        target = Path(tmp) / "root"
        subprocess.run(["debootstrap", "--variant=minbase", "bookworm", str(target), mirror()],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        subprocess.run(["tar", "-C", str(target), "-cf", str(BASE) + ".part", "."], check=True)
        os.rename(str(BASE) + ".part", BASE)


def runtime_instructions() -> list[tuple[str, str]]:
    """The runtime stage of deploy/Dockerfile as (INSTRUCTION, arguments), continuations joined."""
    lines, current = [], ""
    for raw in (ROOT / "deploy/Dockerfile").read_text().splitlines():
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not current):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        lines.append(current + stripped)
        current = ""
    stage, out = False, []
    for line in lines:
        word, _, rest = line.partition(" ")
        if word.upper() == "FROM":
            stage = rest.strip().endswith(" AS runtime")
            continue
        if stage:
            out.append((word.upper(), rest.strip()))
    if not out:
        fail("no stage named runtime in deploy/Dockerfile")
    return out


def compose_lists() -> dict[str, str]:
    """The WARDEN_* allow lists compose.yaml gives the warden service."""
    text = (ROOT / "deploy/compose.yaml").read_text()
    return {k: v for k, v in re.findall(r'^\s+(WARDEN_(?:READER|ADMIN)_(?:UIDS|GIDS)):\s*"?([0-9,]+)"?\s*$', text, re.M)}


def mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True)


def clean_stale() -> None:
    """Unmounts and removes what an interrupted earlier run left behind."""
    prefix = str(SCRATCH / "runtime-stage.")

    def mounted() -> list[str]:
        return [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()
                if line.split()[1].startswith(prefix)]

    for target in sorted(mounted(), key=len, reverse=True):
        subprocess.run(["umount", "-l", target], check=False)
    still = mounted()
    for old in SCRATCH.glob("runtime-stage.*"):
        if not any(m.startswith(str(old) + "/") for m in still):
            shutil.rmtree(old, ignore_errors=True)


def main() -> None:
    binary = Path(sys.argv[1]).resolve()
    SCRATCH.mkdir(exist_ok=True)
    clean_stale()
    base_tarball()
    work = Path(tempfile.mkdtemp(prefix="runtime-stage.", dir=SCRATCH))
    root, volumes, log = work / "root", work / "volumes", work / "serve.log"
    mounts: list[Path] = []
    server = None
    try:
        root.mkdir()
        subprocess.run(["tar", "-C", str(root), "-xf", str(BASE)], check=True)
        shutil.copy("/etc/resolv.conf", root / "etc/resolv.conf")
        env, user, workdir, stop, health, entry, vols = {}, "0:0", "/", "SIGTERM", None, None, []
        start_period = 30.0
        for word, rest in runtime_instructions():
            if word == "RUN":
                r = subprocess.run(["chroot", str(root), "/bin/sh", "-c", rest], env={"PATH": DOCKER_PATH, "DEBIAN_FRONTEND": "noninteractive"},
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                if r.returncode != 0:
                    fail(f"RUN {rest}\n{r.stdout}")
            elif word == "COPY":
                parts = rest.split()
                if parts[0] != "--from=build" or parts[1] != "/out/warden":
                    fail(f"COPY {rest}: only COPY --from=build /out/warden is known here")
                dest = root / parts[2].lstrip("/")
                shutil.copy(binary, dest)
                os.chmod(dest, 0o755)
            elif word == "ENV":
                for pair in shlex.split(rest):
                    k, _, v = pair.partition("=")
                    env[k] = v
            elif word == "USER":
                user = rest
            elif word == "WORKDIR":
                workdir = rest
            elif word == "VOLUME":
                vols = json.loads(rest)
            elif word == "STOPSIGNAL":
                stop = rest
            elif word == "HEALTHCHECK":
                m = re.search(r"--start-period=(\d+)s", rest)
                start_period = float(m.group(1)) if m else start_period
                health = json.loads(rest.split(" CMD ", 1)[1])
            elif word == "ENTRYPOINT":
                entry = json.loads(rest)
            else:
                fail(f"{word} {rest}: an instruction this check does not know; teach deploy/runtime_stage.py")
        if not (health and entry and vols):
            fail("the runtime stage needs HEALTHCHECK, ENTRYPOINT and VOLUME")
        uid, gid = (int(x) for x in user.split(":"))

        # The container: read-only root, the volumes and /tmp writable (owned as in the image),
        # /proc mounted.
        for path in [*vols, "/tmp"]:
            inside = root / path.lstrip("/")
            outside = volumes / path.strip("/").replace("/", "_")
            outside.mkdir(parents=True)
            st = inside.stat()
            os.chown(outside, st.st_uid, st.st_gid)
            os.chmod(outside, st.st_mode & 0o7777)
        mount("--bind", str(root), str(root)); mounts.append(root)
        mount("-o", "remount,ro,bind", str(root))
        mount("-t", "proc", "proc", str(root / "proc")); mounts.append(root / "proc")
        for path in [*vols, "/tmp"]:
            target = root / path.lstrip("/")
            mount("--bind", str(volumes / path.strip("/").replace("/", "_")), str(target)); mounts.append(target)

        def as_user(u: int, g: int, cwd: str):
            def enter():
                os.chroot(root)
                os.setgroups([])
                os.setgid(g)
                os.setuid(u)
                os.chdir(cwd)
            return enter

        container_env = {"PATH": DOCKER_PATH, "HOME": "/", **env, **compose_lists()}

        def run(u: int, g: int, cwd: str, argv: list[str]) -> subprocess.CompletedProcess:
            return subprocess.run(argv, env=container_env, preexec_fn=as_user(u, g, cwd),
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=30)

        with open(log, "w") as out:
            server = subprocess.Popen(entry, env=container_env, preexec_fn=as_user(uid, gid, workdir), stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + start_period
        while run(uid, gid, workdir, health).returncode != 0:
            if server.poll() is not None:
                fail(f"the ENTRYPOINT exited {server.returncode} at start", log)
            if time.monotonic() > deadline:
                fail("the HEALTHCHECK did not pass within the start period", log)
            time.sleep(0.1)

        socket = root / env["WARDEN_SOCKET"].lstrip("/")
        st = socket.stat()
        if (st.st_mode & 0o777, st.st_uid, st.st_gid) != (0o660, uid, gid):
            fail(f"socket mode {oct(st.st_mode & 0o777)} owner {st.st_uid}:{st.st_gid}, expected 0o660 {uid}:{gid}", log)
        checks = [  # (uid, gid, argv, expected exit status, what)
            (10002, gid, ["warden", "group", "put", "editors"], 0, "the app (10002:10001) writes"),
            (10002, gid, ["warden", "stats"], 0, "the app reads"),
            (10003, gid, ["warden", "health"], 0, "another uid of group 10001 reads"),
            (10003, gid, ["warden", "group", "put", "x"], 2, "another uid of group 10001 may not write"),
            (10004, 10004, ["warden", "health"], 2, "a stranger cannot connect"),
        ]
        for u, g, argv, expected, what in checks:
            r = run(u, g, "/", argv)
            if r.returncode != expected:
                fail(f"{what}: `{' '.join(argv)}` as {u}:{g} exited {r.returncode}, expected {expected}\n{r.stdout}", log)
        server.send_signal(getattr(signal, stop))
        try:
            status = server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            fail(f"still running 20 s after {stop}", log)
        server = None
        if status != 0:
            fail(f"exit status {status} after {stop}, expected 0", log)
        if socket.exists():
            fail(f"the socket is still there after {stop}", log)
        if "index loaded" not in log.read_text():
            fail("no 'index loaded' log line", log)
        print(f"runtime-stage: ok: debian bookworm minbase + the runtime stage's RUN lines; read-only root; "
              f"health as {uid}:{gid}; app 10002:{gid} writes; 10003:{gid} reads only; 10004:10004 refused; "
              f"{stop} -> exit 0, socket removed")
    finally:
        if server is not None:
            server.kill()
            server.wait()
        for target in reversed(mounts):
            subprocess.run(["umount", "-l", str(target)], check=False)
        if not any(Path(m).is_mount() for m in mounts):
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
