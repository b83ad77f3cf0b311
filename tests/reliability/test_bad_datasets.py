"""Rows 19-23: bad datasets are refused before any credit is spent, each error naming its file, through the
entry points a user takes: the ``prepare_dataset`` flow (its lint step runs before anything is created), the
CLI ``bria-flows lint`` (folders, and bulk ZIPs), and for bulk ZIPs the emulator too (Bria's own defence).

The bad files themselves are the table of ``tests/test_lint.py`` (generated, no binary in the repo).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bria_api.errors import BriaValidationError
from bria_api.lint import Severity
from deployments.cli import app
from flows.dataset import prepare_dataset
from flows.params import DatasetParams, ProjectParams
from tests.imagegen import distinct_images, image_bytes
from tests.reliability.figures import figure
from tests.test_lint import CASES, _png_bomb

pytestmark = [
    pytest.mark.usefixtures("prefect_harness"),
    pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning"),
]
MiB = 1024 * 1024


def _good(folder: Path, n: int = 5, size: int = 320) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, data in enumerate(distinct_images(n, size=size, fmt="JPEG")):
        (folder / f"good_{i:03}.jpg").write_bytes(data)
    return folder


def _with(name: str, data: bytes, size: int = 320) -> Callable[[Path], tuple[Path, str]]:
    def make(root: Path) -> tuple[Path, str]:
        folder = _good(root / "brand", size=size)
        (folder / name).write_bytes(data)
        return folder, str(folder / name)

    return make


def _count(n: int) -> Callable[[Path], tuple[Path, str]]:
    def make(root: Path) -> tuple[Path, str]:
        folder = _good(root / "brand", n, size=256)
        return folder, f"{n} images"

    return make


def _symlink(root: Path) -> tuple[Path, str]:
    folder = _good(root / "brand")
    (root / "elsewhere.png").write_bytes(image_bytes(400, 400))
    (folder / "link.png").symlink_to(root / "elsewhere.png")
    return folder, str(folder / "link.png")


def _oversized(root: Path) -> tuple[Path, str]:
    folder = _good(root / "brand")
    (folder / "huge.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * (13 * MiB))  # refused by size, unread
    return folder, str(folder / "huge.png")


def _row(code: str) -> str:
    if code == "decompression_bomb":
        return "row22"
    return "row21" if code in ("unsupported_format", "spoofed_extension", "polyglot") else "row20"


# case -> (builder of a folder holding the bad input and the text the error must name, dataset params)
FOLDERS: dict[str, tuple[Callable[[Path], tuple[Path, str]], dict]] = {
    **{
        f"{_row(code)} {case}": (_with(name, make()), {})
        for case, (name, make, code, severity, rules) in CASES.items()
        if severity is Severity.ERROR and not rules
    },
    "row20 300px without upscaling": (
        _with("small.png", image_bytes(300, 300), size=1024),
        {"increase_resolution": False},
    ),
    "row20 over 12 MiB": (_oversized, {}),
    "row20 symlink": (_symlink, {}),
    "row19 0 images": (_count(0), {}),
    "row19 4 images": (_count(4), {}),
    "row19 201 images (basic)": (_count(201), {}),
}


@pytest.mark.slow  # 27 flow runs (~1 s each of Prefect overhead)
@pytest.mark.parametrize("case", list(FOLDERS))
async def test_rows19_22_bad_folder_is_refused_by_the_flow_and_the_cli_before_any_request(
    case, flow_bria, tmp_path
):
    """Rows 19-22: the lifecycle's lint step and `bria-flows lint` both refuse, naming the file; Bria sees nothing."""
    build, params = FOLDERS[case]
    folder, culprit = build(tmp_path)
    with pytest.raises(BriaValidationError) as info:
        await prepare_dataset(
            ProjectParams(project_name="bad"), DatasetParams(name="d", images_dir=folder, **params)
        )
    cli = CliRunner().invoke(
        app, ["lint", str(folder)] + (["--no-upscale"] if params else []), env={"COLUMNS": "400"}
    )
    stats = flow_bria.stats()
    requests = sum(op["requests"] for op in stats["operations"].values())
    _record(case, requests, stats["mutating_requests"])
    assert culprit in str(info.value)
    assert cli.exit_code == 1 and culprit in cli.output.replace("\n", ""), cli.output
    assert requests == 0 and stats["mutating_requests"] == 0


_TALLY: dict[str, tuple[int, int]] = {}


def _record(case: str, requests: int, mutating: int) -> None:
    _TALLY[case] = (requests, mutating)
    if len(_TALLY) == len(FOLDERS):
        figure(
            19,
            f"{len(_TALLY)} bad folders (rows 19-22) refused by the flow and the CLI, each naming its file; "
            f"requests to Bria {sum(r for r, _ in _TALLY.values())}, mutating {sum(m for _, m in _TALLY.values())}",
        )


def test_row20_exif_rotation_is_reported_by_name_without_blocking(tmp_path):
    """Row 20: an EXIF-rotated photo is not an error (Bria may ignore the tag) but is reported by name."""
    name, make, code, *_ = CASES["exif-rotated"]
    folder, culprit = _with(name, make())(tmp_path)
    cli = CliRunner().invoke(app, ["lint", str(folder)], env={"COLUMNS": "400"})
    figure(20, f"EXIF-rotated photo: warning naming {Path(culprit).name}, exit {cli.exit_code}")
    assert cli.exit_code == 0 and culprit in cli.output.replace("\n", "") and code in cli.output


@pytest.mark.parametrize("width,height", [(30000, 30000), (10000, 10000)])
def test_row22_decompression_bomb_is_refused_from_the_header(tmp_path, width, height):
    """Row 22: a bomb PNG of a few hundred bytes is refused at open; measured in a fresh process."""
    folder = _good(tmp_path / "brand")
    (folder / "bomb.png").write_bytes(_png_bomb(width, height))
    probe = (
        "import json, resource, sys, time, warnings\n"
        "from pathlib import Path\n"
        "from bria_api.lint import lint_folder\n"
        "warnings.simplefilter('ignore')\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "t = time.perf_counter(); report = lint_folder(Path(sys.argv[1])); t = time.perf_counter() - t\n"
        "after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(json.dumps({'ms': t * 1000, 'rss_mb': (after - before) / 1024,"
        " 'codes': sorted({f.code for f in report.errors})}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, str(folder)], capture_output=True, text=True, check=True
    )
    measured = json.loads(out.stdout)
    figure(
        22,
        f"{width}x{height} PNG bomb ({len(_png_bomb(width, height))} bytes): refused as "
        f"{measured['codes']} while linting 6 files in {measured['ms']:.0f} ms, peak RSS growth {measured['rss_mb']:.1f} MB",
    )
    assert measured["codes"] == ["decompression_bomb"]
    assert measured["rss_mb"] < 64  # a decode would need width*height*3 bytes: 2.7 GB / 300 MB


# -- bulk ZIPs (rows 19 "5001 bulk", 22 "bomb inside a zip", 23) ------------------------------------------------


def _zip(entries: dict[str, bytes], *, symlinks: tuple[str, ...] = (), declare: int | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        for name in symlinks:
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o120777 << 16
            archive.writestr(info, "../../etc/passwd")
        if declare is not None:  # the central directory claims more than was written (zip64 sizes)
            archive.infolist()[-1].file_size = declare
    return out.getvalue()


def _zip_bomb() -> bytes:
    """100 MiB of zeros deflated to ~100 KB (a 1000:1 bomb), next to five real images."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for i, data in enumerate(distinct_images(5, size=1024, fmt="JPEG")):
            archive.writestr(f"img_{i}.jpg", data)
        with archive.open("bomb.png", "w") as handle:
            for _ in range(100):
                handle.write(bytes(MiB))
    return out.getvalue()


GOOD_1024 = {f"img_{i}.jpg": data for i, data in enumerate(distinct_images(5, size=1024, fmt="JPEG"))}
ZIPS: dict[str, tuple[Callable[[], bytes], str]] = {  # case -> (archive, the entry or rule the error names)
    "row19 5001 entries": (lambda: _zip({f"img_{i:04}.jpg": b"x" for i in range(5001)}), "5001 entries"),
    "row23 zip bomb 100 MiB -> 100 KB": (_zip_bomb, "zip bomb"),
    "row23 declares over 5 GB": (
        lambda: _zip({**GOOD_1024, "huge.jpg": b"\xff\xd8"}, declare=6 * 1024**3),
        "5 GB",
    ),
    "row23 zip-slip ../": (
        lambda: _zip({**GOOD_1024, "../../evil.jpg": GOOD_1024["img_0.jpg"]}),
        "../../evil.jpg",
    ),
    "row23 absolute path": (
        lambda: _zip({**GOOD_1024, "/tmp/evil.jpg": GOOD_1024["img_1.jpg"]}),
        "/tmp/evil.jpg",
    ),
    "row23 symlink entry": (lambda: _zip(GOOD_1024, symlinks=("link.jpg",)), "link.jpg"),
    "row23 nested zip": (lambda: _zip({**GOOD_1024, "more.zip": _zip(GOOD_1024)}), "more.zip"),
    "row22 bomb inside the zip": (
        lambda: _zip({**GOOD_1024, "bomb.png": _png_bomb(30000, 30000)}),
        "bomb.png",
    ),
    "row20 small image in a bulk zip": (
        lambda: _zip({**GOOD_1024, "small.jpg": image_bytes(512, 512, "JPEG")}),
        "small.jpg",
    ),
}


@pytest.fixture(scope="module")
def zips() -> dict[str, bytes]:
    return {case: make() for case, (make, _) in ZIPS.items()}


def test_rows19_23_bad_bulk_zips_are_refused_by_the_cli_lint_without_extracting(zips, tmp_path):
    """Rows 19/22/23: `bria-flows lint x.zip` refuses each archive, naming the entry or the rule; nothing is
    written next to it or outside it."""
    before = set(Path(tempfile.gettempdir()).iterdir())
    refused = {}
    for case, (_, names) in ZIPS.items():
        path = tmp_path / f"{case.replace(' ', '_').replace('/', '_')}.zip"
        path.write_bytes(zips[case])
        cli = CliRunner().invoke(app, ["lint", str(path)], env={"COLUMNS": "400"})
        refused[case] = cli.exit_code
        assert cli.exit_code == 1 and names in cli.output.replace("\n", ""), (case, cli.output)
    written = [p.name for p in tmp_path.iterdir() if p.suffix != ".zip"]
    outside = set(Path(tempfile.gettempdir()).iterdir()) - before
    figure(
        23,
        f"{len(refused)} bad bulk ZIPs refused by the client lint (exit 1, naming entry or rule); "
        f"files written beside them {len(written)}, outside {len([p for p in outside if 'evil' in p.name])}",
    )
    assert not written and not [p for p in outside if "evil" in p.name]


async def test_rows19_23_the_emulator_also_defends_against_bad_bulk_zips(zips, bria, emulator):
    """Rows 19/22/23, server side: the emulator (as Bria) refuses the same archives while reading them in
    memory: nothing bad lands in a dataset, nothing is written to disk."""
    from tests.emulator.receiver import static_server

    served = {f"/{i}.zip": data for i, data in enumerate(zips.values())}
    outcomes = {}
    with static_server(served) as base:
        for i, case in enumerate(zips):
            project = await bria.projects.create(f"bulk {i}", ip_medium="photography", ip_type="other")
            dataset = await bria.datasets.create(project.id, "bulk", upload_type="advanced")
            await bria.images.bulk_upload(dataset.id, f"{base}/{i}.zip")
            emulator.advance(3600)
            state = await bria.images.bulk_upload_status(dataset.id)
            images = await bria.images.list(dataset.id)
            _, names = ZIPS[case]
            bad = [f.filename for f in state.failed_images]
            outcomes[case] = (str(getattr(state.status, "value", state.status)), len(images), bad)
            assert all(names.strip("/") not in (img.image_name or "") for img in images), case
            assert state.status == "failed" or any(names in (name or "") for name in bad), (case, state)
    figure(
        23,
        "emulator: "
        + "; ".join(f"{c}: {s}, {n} images kept, refused {b[:1]}" for c, (s, n, b) in outcomes.items()),
    )
