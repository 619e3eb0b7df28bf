"""Stand-in apt repositories, built, signed and served inside the tests, laid out like the real ones.

The GPU paths install from Docker's, NVIDIA's and Canonical's repositories, none of which CI can reach. A test builds
stand-ins of them instead: packages under the real names and versions (the payloads are stand-ins, see
tests/gpu/standin_packages.py), indexed with apt-ftparchive and signed with throw-away keys made for the run, under
the same paths below one web server as below the real hosts (``download.docker.com/linux/debian/dists/bookworm/...``,
``nvidia.github.io/libnvidia-container/stable/deb/amd64/``, ...). The roles then point their repository variables at
``http://<server>/<real host>/<real path>``: a wrong path, suite, component, key, package name or version fails the
way it would against the real repository.

Two halves:
- ``build_tree`` runs inside the tools image (tools/dev/apt_repo_image/Dockerfile: gpg, apt-ftparchive, dpkg-deb and
  Debian's packages of the Docker engine), invoked as ``python3 apt_repo.py PLAN.json INPUTS OUT``. It uses the
  standard library only. On the control machine ``python -m hymt_dev.apt_repo build`` builds that image.
- ``RepositoryServer`` (the test side, through the Docker SDK) builds that image, runs the build as the calling user
  and serves the tree from a container on a Docker network of the tests' own, which the rehearsal hosts join.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

# Where the tools image keeps Debian's packages (the stand-in Docker CE packages carry their programs).
DEBIAN_DEBS = Path("/opt/hymt/debian-debs")


# --------------------------------------------------------------------------------------------------------------------
# The plan: what to build, as plain data (it crosses into the container as JSON).


@dataclass
class Payload:
    """One file of a package. ``kind`` says where its content comes from:
    text     ``content`` itself
    deb      ``member`` of Debian's package ``deb`` (in the tools image), with ``replace`` pairs applied to text files
    input    the file ``source`` of the inputs directory (e.g. a stand-in program)
    key      the public key ``key`` of this build, binary (a keyring) or ``armor``-ed
    """

    path: str
    kind: str
    mode: int = 0o644
    content: str = ""
    deb: str = ""
    member: str = ""
    source: str = ""
    key: str = ""
    armor: bool = False
    replace: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Package:
    name: str
    version: str
    description: str
    architecture: str = "amd64"
    maintainer: str = "hymt-deploy tests <tests@hymt.invalid>"
    section: str = "admin"
    homepage: str = ""
    depends: list[str] = field(default_factory=list)
    recommends: list[str] = field(default_factory=list)
    suggests: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    breaks: list[str] = field(default_factory=list)
    replaces: list[str] = field(default_factory=list)
    provides: list[str] = field(default_factory=list)
    files: list[Payload] = field(default_factory=list)
    # postinst, prerm, postrm, preinst: shell scripts
    scripts: dict[str, str] = field(default_factory=dict)

    @property
    def deb_name(self) -> str:
        # dpkg's file name: the epoch's colon is left out, as in Docker's pool (docker-ce_29.7.2-1~debian...).
        version = self.version.split(":", 1)[-1]
        return f"{self.name}_{version}_{self.architecture}.deb"


@dataclass
class Repository:
    """An apt repository below the server's root.

    ``flat``: a flat repository (``deb URL /``) with its index and packages in ``root`` itself, as NVIDIA's are.
    Otherwise ``dists/<suite>/<component>/binary-<arch>/`` with the packages in ``pool`` (relative to ``root``).
    """

    root: str
    key: str
    packages: list[Package]
    origin: str
    label: str
    flat: bool = False
    suite: str = ""
    component: str = ""
    pool: str = ""
    architectures: tuple[str, ...] = ("amd64",)


@dataclass
class Plan:
    # key name -> user id of a throw-away signing key
    keys: dict[str, str]
    repositories: list[Repository]
    # Files published next to the repositories (keys at the URLs the real ones have, list files ...).
    files: list[Payload] = field(default_factory=list)
    # Symbolic links below the root, link -> target: a mirror is the same tree under another path.
    links: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)


# --------------------------------------------------------------------------------------------------------------------
# Inside the tools image: build the tree from a plan (standard library only).


def _run(argv: list[str], **options) -> subprocess.CompletedProcess:
    completed = subprocess.run(argv, capture_output=True, text=True, check=False, **options)
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({completed.returncode}):\n{completed.stderr[-3000:]}")
    return completed


class _Keys:
    """Throw-away ed25519 signing keys in a GnuPG home of their own."""

    def __init__(self, home: Path, user_ids: dict[str, str]):
        self.env = dict(os.environ, GNUPGHOME=str(home))
        home.mkdir(mode=0o700)
        self.fingerprints = {}
        for name, user_id in user_ids.items():
            _run(
                ["gpg", "--batch", "--passphrase", "", "--quick-gen-key", user_id, "ed25519", "sign", "never"],
                env=self.env,
            )
            listing = _run(["gpg", "--batch", "--with-colons", "--list-keys", f"={user_id}"], env=self.env).stdout
            self.fingerprints[name] = next(
                line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:")
            )

    def public(self, name: str, armor: bool) -> bytes:
        argv = ["gpg", "--batch", "--export", *(["--armor"] if armor else []), self.fingerprints[name]]
        return subprocess.run(argv, env=self.env, capture_output=True, check=True).stdout

    def sign_release(self, directory: Path, name: str) -> None:
        """InRelease (clear-signed) and Release.gpg (detached), as every apt repository publishes them."""
        base = ["gpg", "--batch", "--yes", "--local-user", self.fingerprints[name], "--digest-algo", "SHA512"]
        release = str(directory / "Release")
        _run([*base, "--clearsign", "--output", str(directory / "InRelease"), release], env=self.env)
        _run([*base, "--armor", "--detach-sign", "--output", str(directory / "Release.gpg"), release], env=self.env)


class _DebianPackages:
    """Debian's packages in the tools image, unpacked on first use."""

    def __init__(self, scratch: Path):
        self.scratch = scratch
        self.unpacked: dict[str, Path] = {}

    def member(self, deb: str, member: str) -> Path:
        if deb not in self.unpacked:
            (found,) = DEBIAN_DEBS.glob(f"{deb}_*.deb")
            target = self.scratch / deb
            target.mkdir(parents=True)
            _run(["dpkg-deb", "--extract", str(found), str(target)])
            self.unpacked[deb] = target
        return self.unpacked[deb] / member


def _payload_bytes(payload: dict, inputs: Path, keys: _Keys, debian: _DebianPackages) -> bytes:
    kind = payload["kind"]
    if kind == "text":
        data = payload["content"].encode()
    elif kind == "deb":
        data = debian.member(payload["deb"], payload["member"]).read_bytes()
    elif kind == "input":
        data = (inputs / payload["source"]).read_bytes()
    elif kind == "key":
        data = keys.public(payload["key"], payload["armor"])
    else:
        raise ValueError(f"unknown payload kind {kind!r}")
    for old, new in payload.get("replace", []):
        # A replacement that finds nothing means its source changed: the stand-in would silently differ.
        if old.encode() not in data:
            raise ValueError(f"{payload['path']}: {old!r} is not in its source any more; update the stand-in")
        data = data.replace(old.encode(), new.encode())
    return data


def _write(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.chmod(mode)


def _control(package: dict, installed_kib: int) -> str:
    fields = [
        ("Package", package["name"]),
        ("Version", package["version"]),
        ("Architecture", package["architecture"]),
        ("Maintainer", package["maintainer"]),
        ("Installed-Size", str(installed_kib)),
    ]
    for name, key in (
        ("Depends", "depends"),
        ("Recommends", "recommends"),
        ("Suggests", "suggests"),
        ("Conflicts", "conflicts"),
        ("Breaks", "breaks"),
        ("Replaces", "replaces"),
        ("Provides", "provides"),
    ):
        if package[key]:
            fields.append((name, ", ".join(package[key])))
    fields += [("Section", package["section"]), ("Priority", "optional")]
    if package["homepage"]:
        fields.append(("Homepage", package["homepage"]))
    summary, _, body = package["description"].partition("\n")
    lines = [f" {line}" if line.strip() else " ." for line in body.strip().splitlines()]
    text = "".join(f"{name}: {value}\n" for name, value in fields)
    return text + f"Description: {summary}\n" + "".join(line + "\n" for line in lines)


def build_deb(package: dict, pool: Path, inputs: Path, keys: _Keys, debian: _DebianPackages, scratch: Path) -> Path:
    root = Path(tempfile.mkdtemp(dir=scratch, prefix=f"{package['name']}-"))
    control_dir = root / "DEBIAN"
    control_dir.mkdir(mode=0o755)
    size = 0
    conffiles = []
    for payload in package["files"]:
        data = _payload_bytes(payload, inputs, keys, debian)
        _write(root / payload["path"].lstrip("/"), data, payload["mode"])
        size += len(data)
        if payload["path"].startswith("/etc/"):
            conffiles.append(payload["path"])
    # Directories 0755 whatever the umask, as in any package.
    for directory in [root, *(p for p in root.rglob("*") if p.is_dir())]:
        directory.chmod(0o755)
    (control_dir / "control").write_text(_control(package, max(1, size // 1024)))
    if conffiles:
        (control_dir / "conffiles").write_text("".join(f"{path}\n" for path in conffiles))
    for script, body in package["scripts"].items():
        _write(control_dir / script, body.encode(), 0o755)
    pool.mkdir(parents=True, exist_ok=True)
    version = package["version"].split(":", 1)[-1]
    deb = pool / f"{package['name']}_{version}_{package['architecture']}.deb"
    _run(["dpkg-deb", "--root-owner-group", "-Zzstd", "--build", str(root), str(deb)])
    shutil.rmtree(root)
    return deb


def _index(repository: dict, root: Path, keys: _Keys) -> None:
    """Packages and a signed Release, with apt-ftparchive as Debian's own repositories are made."""
    architectures = " ".join(repository["architectures"])
    release_options = [
        f"-oAPT::FTPArchive::Release::Origin={repository['origin']}",
        f"-oAPT::FTPArchive::Release::Label={repository['label']}",
        f"-oAPT::FTPArchive::Release::Architectures={architectures}",
    ]
    if repository["flat"]:
        index_dir, release_dir, packages_from = root, root, "."
        index_dir.mkdir(parents=True, exist_ok=True)
    else:
        suite, component = repository["suite"], repository["component"]
        release_dir = root / "dists" / suite
        index_dir = release_dir / component / f"binary-{repository['architectures'][0]}"
        packages_from = repository["pool"]
        (root / packages_from).mkdir(parents=True, exist_ok=True)
        index_dir.mkdir(parents=True, exist_ok=True)
        # Several repositories of the plan may be components of one suite (Debian's main and contrib): the suite's
        # Release, made again with each, lists every component indexed so far.
        components = " ".join(sorted(path.parent.name for path in release_dir.glob("*/binary-*")))
        release_options += [
            f"-oAPT::FTPArchive::Release::Suite={suite}",
            f"-oAPT::FTPArchive::Release::Codename={suite}",
            f"-oAPT::FTPArchive::Release::Components={components}",
        ]
    packages = _run(["apt-ftparchive", "packages", packages_from], cwd=root).stdout
    (index_dir / "Packages").write_text(packages)
    with gzip.open(index_dir / "Packages.gz", "wt") as compressed:
        compressed.write(packages)
    # Generated before a Release file exists there, so that it does not list itself.
    release = _run(["apt-ftparchive", *release_options, "release", "."], cwd=release_dir).stdout
    (release_dir / "Release").write_text(release)
    keys.sign_release(release_dir, repository["key"])


def build_tree(plan: dict, inputs: Path, out: Path) -> dict:
    """Build every repository of the plan below ``out``; returns the keys' fingerprints by name."""
    scratch = Path(tempfile.mkdtemp(prefix="hymt-apt-repo-"))
    try:
        keys = _Keys(scratch / "gnupg", plan["keys"])
        debian = _DebianPackages(scratch / "debian")
        for repository in plan["repositories"]:
            root = out / repository["root"]
            pool = root if repository["flat"] else root / repository["pool"]
            for package in repository["packages"]:
                build_deb(package, pool, inputs, keys, debian, scratch)
            _index(repository, root, keys)
        for payload in plan["files"]:
            _write(out / payload["path"].lstrip("/"), _payload_bytes(payload, inputs, keys, debian), payload["mode"])
        for link, target in plan["links"].items():
            path = out / link
            path.parent.mkdir(parents=True, exist_ok=True)
            path.symlink_to(os.path.relpath(out / target, path.parent))
        return keys.fingerprints
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _main(argv: list[str]) -> int:
    if argv == ["build"]:  # make gpu-repo-image, on the control machine
        print("stand-in repository image:", build_image())
        return 0
    plan_file, inputs, out = (Path(arg) for arg in argv)
    fingerprints = build_tree(json.loads(plan_file.read_text()), inputs, out)
    (plan_file.parent / "fingerprints.json").write_text(json.dumps(fingerprints, indent=1))
    return 0


# --------------------------------------------------------------------------------------------------------------------
# The test side: the tools image, the build and the server, through the Docker SDK.

LABEL = "org.hymt.test"
INPUTS_LABEL = "org.hymt.build-inputs"


class RepositoryError(RuntimeError):
    """The stand-in repositories could not be built or served; the message says why."""


def _checkout() -> tuple[Path, Path]:
    """The checkout's root and the tools image's directory (imported here: this file also runs alone, in the image)."""
    from hymt_dev import REPO_ROOT

    return REPO_ROOT, REPO_ROOT / "tools/dev/apt_repo_image"


def _pins() -> dict:
    import yaml

    return yaml.safe_load((_checkout()[0] / "inventory/group_vars/all/versions.yml").read_text())


def _image_inputs_digest(base: str, compose_version: str) -> str:
    root, image_dir = _checkout()
    digest = hashlib.sha256(f"{base}\0{compose_version}".encode())
    for directory in (image_dir, root / "build/ca"):
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def build_image(client=None, force: bool = False) -> str:
    """The tools image (hymt_apt_repo_image), built from the pinned Debian image unless one from the same inputs
    exists."""
    from docker.errors import BuildError, ImageNotFound

    from hymt_dev.rehearsal_host.host import docker_client

    client = client or docker_client()
    pins = _pins()
    image, base, compose = pins["hymt_apt_repo_image"], pins["hymt_debian_image"], pins["hymt_compose_deb_version"]
    inputs = _image_inputs_digest(base, compose)
    if not force:
        try:
            if client.images.get(image).labels.get(INPUTS_LABEL) == inputs:
                return image
        except ImageNotFound:
            pass
    try:
        client.images.get(base)
    except ImageNotFound:
        raise RepositoryError(f"the base image {base} is missing; build the stand-ins with 'make standins'.") from None
    root, image_dir = _checkout()
    (root / "build/ca").mkdir(parents=True, exist_ok=True)
    try:
        client.images.build(
            path=str(root),
            dockerfile=str((image_dir / "Dockerfile").relative_to(root)),
            tag=image,
            buildargs={"DEBIAN_IMAGE": base, "HYMT_VERSION": pins["hymt_version"], "COMPOSE_DEB_VERSION": compose},
            labels={INPUTS_LABEL: inputs},
            rm=True,
            forcerm=True,
        )
    except BuildError as error:
        log = "".join(chunk.get("stream", "") for chunk in error.build_log if isinstance(chunk, dict))
        raise RepositoryError(f"building {image} failed: {error.msg}\n{log[-3000:]}") from None
    return image


@dataclass
class RepositoryServer:
    """A web server for the stand-in repositories on a Docker network of its own (which hosts then join)."""

    name: str
    directory: Path
    client: object = None
    image: str = ""
    address: str = ""
    fingerprints: dict[str, str] = field(default_factory=dict)

    @property
    def network(self) -> str:
        return f"{self.name}-net"

    @property
    def tree(self) -> Path:
        return self.directory / "srv"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def url_of(self, path: str) -> str:
        """The URL of a path below the server's root, e.g. url_of('download.docker.com')."""
        return f"{self.url}/{path.strip('/')}"

    def start(self) -> RepositoryServer:
        """Create the network and start the (empty) server, so that its address is known before the build."""
        from hymt_dev.rehearsal_host.host import docker_client

        self.client = self.client or docker_client()
        self.image = self.image or build_image(self.client)
        self.tree.mkdir(parents=True, exist_ok=True)
        self.tree.chmod(0o755)
        labels = {LABEL: "apt-repo"}
        network = self.client.networks.create(self.network, driver="bridge", labels=labels)
        container = self.client.containers.run(
            self.image,
            ["python3", "-m", "http.server", "80", "--directory", "/srv/repo"],
            name=self.name,
            detach=True,
            labels=labels,
            network=network.name,
            volumes={str(self.tree): {"bind": "/srv/repo", "mode": "ro"}},
        )
        container.reload()
        self.address = container.attrs["NetworkSettings"]["Networks"][network.name]["IPAddress"]
        return self

    def build(self, plan: Plan, inputs: Path) -> dict[str, str]:
        """Build the plan's repositories into the served tree (as the calling user, so the files stay removable)."""
        from docker.errors import ContainerError

        work = self.directory / "work"
        work.mkdir(exist_ok=True)
        (work / "plan.json").write_text(plan.to_json())
        shutil.copy2(__file__, work / "apt_repo.py")
        try:
            self.client.containers.run(
                self.image,
                ["python3", "/work/apt_repo.py", "/work/plan.json", "/inputs", "/srv/repo"],
                user=f"{os.getuid()}:{os.getgid()}",
                environment={"HOME": "/tmp"},
                labels={LABEL: "apt-repo-build"},
                network_mode="none",
                remove=True,
                volumes={
                    str(work): {"bind": "/work", "mode": "rw"},
                    str(inputs.resolve()): {"bind": "/inputs", "mode": "ro"},
                    str(self.tree): {"bind": "/srv/repo", "mode": "rw"},
                },
                stderr=True,
            )
        except ContainerError as error:
            detail = error.stderr.decode(errors="replace") if isinstance(error.stderr, bytes) else error.stderr
            raise RepositoryError(f"building the stand-in repositories failed:\n{str(detail)[-4000:]}") from None
        self.fingerprints = json.loads((work / "fingerprints.json").read_text())
        return self.fingerprints

    def connect(self, container_name: str) -> None:
        """Put a container (a rehearsal host) on the server's network."""
        self.client.networks.get(self.network).connect(container_name)

    def requests(self) -> list[str]:
        """The paths the server was asked for, in order (its access log)."""
        log = self.client.containers.get(self.name).logs(stdout=False, stderr=True).decode(errors="replace")
        paths = []
        for line in log.splitlines():
            _, _, request = line.partition('"')
            method, _, rest = request.partition(" ")
            if method in {"GET", "HEAD"}:
                paths.append(rest.split(" ", 1)[0])
        return paths

    def stop(self) -> None:
        from docker.errors import NotFound

        if self.client is None:
            return
        with contextlib.suppress(NotFound):
            self.client.containers.get(self.name).remove(force=True)
        try:
            network = self.client.networks.get(self.network)
            network.reload()
            for container in network.containers:
                network.disconnect(container, force=True)
            network.remove()
        except NotFound:
            pass
        shutil.rmtree(self.directory, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
