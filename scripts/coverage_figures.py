"""Line coverage of src/tmr from tests/unit alone and from every test, from two coverage data files.

`./run test` runs tests/unit with its own data file and the other layers with another: a module's
import-time lines (imports, `def`, `class`) run while pytest collects, outside any test, so only a
run of tests/unit by itself says which of them the unit layer reaches (per-test coverage contexts
would leave them out or credit the unit layer with what the other layers import). This script
reads both files, prints both figures, fails when either is under its minimum, and writes the
combined data with its terminal and XML reports, as pytest-cov would for one run.

Line coverage counts statements only (the data also holds branches, for the reports); a file that
no test imports counts with all its statements missed.

    python scripts/coverage_figures.py --unit .services/coverage.unit --rest .services/coverage.rest \
        --combined .services/coverage --xml .services/coverage.xml --min-unit 90 --min-all 95
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import coverage

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "src" / "tmr"


@dataclass(frozen=True)
class Lines:
    statements: int
    covered: int

    @property
    def percent(self) -> float:
        return 100.0 * self.covered / self.statements if self.statements else 100.0


def line_coverage(cov: coverage.Coverage, source: Path = SOURCE) -> Lines:
    """Statements and covered statements over every Python file under `source`, measured or not."""
    statements = covered = 0
    for path in sorted(source.rglob("*.py")):
        _name, executable, _excluded, missing, _text = cov.analysis2(str(path))
        statements += len(executable)
        covered += len(executable) - len(missing)
    return Lines(statements, covered)


def load(data_file: Path) -> coverage.Coverage:
    if not data_file.is_file():
        raise SystemExit(f"coverage_figures: no coverage data at {data_file}")
    cov = coverage.Coverage(data_file=str(data_file), config_file=str(ROOT / "pyproject.toml"))
    cov.load()
    return cov


def combine(parts: Sequence[Path], combined: Path) -> coverage.Coverage:
    """The union of `parts` in `combined` (the parts are kept: the unit figure is read from one)."""
    with tempfile.TemporaryDirectory(prefix="tmr-coverage-") as tmp:
        copies = []
        for index, part in enumerate(parts):
            copy = Path(tmp) / f"part{index}"
            shutil.copyfile(part, copy)
            copies.append(str(copy))
        cov = coverage.Coverage(data_file=str(combined), config_file=str(ROOT / "pyproject.toml"))
        cov.combine(copies, strict=True)
        cov.save()
    return cov


def figure_line(unit: Lines, everything: Lines, min_unit: float, min_all: float) -> str:
    return (
        f"coverage: unit {unit.percent:.1f} % (need {min_unit:g}), "
        f"all {everything.percent:.1f} % (need {min_all:g})"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--unit", type=Path, required=True, help="data file of the tests/unit run")
    parser.add_argument("--rest", type=Path, required=True, help="data file of the run of the other layers")
    parser.add_argument("--combined", type=Path, required=True, help="where to write the combined data")
    parser.add_argument("--xml", type=Path, help="also write the combined XML report here")
    parser.add_argument("--report", action="store_true", help="print the combined term-missing report")
    parser.add_argument("--min-unit", type=float, default=0.0, help="fail below this unit-only percentage")
    parser.add_argument("--min-all", type=float, default=0.0, help="fail below this percentage for all tests")
    args = parser.parse_args(argv)

    unit = line_coverage(load(args.unit))
    load(args.rest)  # refuse a missing file before writing anything
    combined = combine([args.unit, args.rest], args.combined)
    if args.report:
        combined.report(show_missing=True, skip_covered=True, file=sys.stdout)
    if args.xml:
        combined.xml_report(outfile=str(args.xml))
    everything = line_coverage(combined)
    print(figure_line(unit, everything, args.min_unit, args.min_all))
    failed = []
    if unit.percent < args.min_unit:
        failed.append(f"tests/unit alone cover {unit.percent:.1f} % of the lines, under {args.min_unit:g} %")
    if everything.percent < args.min_all:
        failed.append(f"all tests cover {everything.percent:.1f} % of the lines, under {args.min_all:g} %")
    for message in failed:
        print(f"coverage_figures: {message}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
