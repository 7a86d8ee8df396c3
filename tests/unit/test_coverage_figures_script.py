"""scripts/coverage_figures.py: line coverage counts statements of every source file (a file no
test imported counts as all missed), and the printed line names both figures and minimums."""

from __future__ import annotations

from pathlib import Path

import coverage

from tests.script_loading import load_script

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "tmr" / "workload"  # a small package of the project's own source


cf = load_script("coverage_figures")


def _measured(lines: dict[Path, list[int]]) -> coverage.Coverage:
    """A Coverage object whose data (in memory) says these lines ran, nothing else."""
    cov = coverage.Coverage(data_file=None, config_file=False)
    data = cov.get_data()
    data.add_lines({str(path): set(numbers) for path, numbers in lines.items()})
    return cov


def _statements(path: Path) -> list[int]:
    return sorted(_measured({}).analysis2(str(path))[1])


def test_unmeasured_files_count_with_every_statement_missed() -> None:
    files = sorted(PACKAGE.rglob("*.py"))
    total = sum(len(_statements(p)) for p in files)
    nothing = cf.line_coverage(_measured({}), PACKAGE)
    assert nothing.statements == total
    assert nothing.covered == 0
    assert nothing.percent == 0.0


def test_only_covered_statements_count() -> None:
    models = PACKAGE / "models.py"
    statements = _statements(models)
    half = statements[: len(statements) // 2]
    # A line that holds no statement (past the end of the file here) adds nothing.
    measured = cf.line_coverage(_measured({models: [*half, 10_000]}), PACKAGE)
    assert measured.covered == len(half)
    assert 0 < measured.percent < 100


def test_the_figure_line_names_both_figures_and_their_minimums() -> None:
    unit, everything = cf.Lines(1000, 912), cf.Lines(1000, 971)
    assert cf.figure_line(unit, everything, 90, 95) == "coverage: unit 91.2 % (need 90), all 97.1 % (need 95)"
    assert cf.Lines(0, 0).percent == 100.0
