"""verify OUT.zip: an evidence bundle, checked without unpacking it by hand.

The zip is unpacked (safely: no absolute paths, no `..`, bounded size) into a temporary
folder and the case inside is verified like any case; the bundle's station keys must be
the ones in case.json.
"""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from ..models import CaseInfo
from .report import Problem, VerifyReport

MAX_UNPACKED = 64 << 30  # refuse bundles that claim more than 64 GiB unpacked


def verify_bundle(path: Path, tsa_roots: list[Path]) -> VerifyReport:
    from .run import verify_path  # the case check; run.py dispatches here for .zip files

    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        report = VerifyReport(target=str(path))
        report.case_problems.append(Problem(file=path.name, reason=f"not a readable zip: {exc}"))
        return report
    with zf, tempfile.TemporaryDirectory(prefix="archiver-verify-") as tmp:
        problems = _unpack(zf, Path(tmp))
        cases = [p.parent for p in Path(tmp).glob("*/case.json")]
        if problems or len(cases) != 1:
            report = VerifyReport(target=str(path), case_problems=problems)
            if len(cases) != 1:
                report.case_problems.append(Problem(file=path.name, reason=f"expected one case folder with case.json, found {len(cases)}"))
            return report
        report = verify_path(cases[0], tsa_roots)
        report.target = str(path)
        _check_keys(Path(tmp), cases[0], report)
        for item in report.items:
            for problem in item.problems:
                problem.file = f"{cases[0].name}/{problem.file}"
        return report


def _unpack(zf: zipfile.ZipFile, into: Path) -> list[Problem]:
    problems = []
    total = 0
    for info in zf.infolist():
        name = PurePosixPath(info.filename)
        if name.is_absolute() or ".." in name.parts:
            problems.append(Problem(file=info.filename, reason="unsafe path in the zip: not unpacked"))
            continue
        total += info.file_size
        if total > MAX_UNPACKED:
            problems.append(Problem(file=info.filename, reason="the zip claims more than 64 GiB: not unpacked"))
            break
        try:
            zf.extract(info, into)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:  # CRC errors come as BadZipFile
            problems.append(Problem(file=info.filename, reason=f"damaged in the zip: {exc}"))
    return problems


def _check_keys(root: Path, case_dir: Path, report: VerifyReport) -> None:
    try:
        info = CaseInfo.model_validate_json((case_dir / "case.json").read_bytes())
    except ValueError:
        return  # verify_path already reported it
    known = {s.fingerprint: s.public_key_pem for s in info.stations}
    for key in sorted((root / "station-keys").glob("*.pub.pem")):
        fingerprint = key.name[: -len(".pub.pem")]
        if known.get(fingerprint) != key.read_text():
            report.case_problems.append(Problem(file=f"station-keys/{key.name}", reason="not the key case.json lists for this station"))
    extra = [p for p in root.iterdir() if p.name not in (case_dir.name, "station-keys", "README.md")]
    for path in extra:
        report.case_problems.append(Problem(file=path.name, reason="not part of an evidence bundle"))
