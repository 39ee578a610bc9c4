"""bench/run_all.py: one command runs every benchmark, reports each, survives a failing one."""
from __future__ import annotations

import importlib.util

from helpers_core import PROJECT_ROOT


def load_runner():
    spec = importlib.util.spec_from_file_location("run_all", PROJECT_ROOT / "bench" / "run_all.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_benchmark_script_exists_and_takes_its_arguments():
    runner = load_runner()
    for name, (script, args, quick) in runner.BENCHMARKS.items():
        path = runner.BENCH / script
        assert path.is_file(), name
        text = path.read_text()
        for flag in {a for a in args + quick if a.startswith("--")}:
            assert f'"{flag}"' in text, (name, flag)


def test_runner_reports_each_benchmark_and_fails_when_one_fails(tmp_path, monkeypatch, capsys):
    runner = load_runner()
    (tmp_path / "good.py").write_text("import sys\nprint('ratio 1.5x', sys.argv[1:])\n")
    (tmp_path / "bad.py").write_text("import sys\nsys.exit('no nbgrader here')\n")
    monkeypatch.setattr(runner, "BENCH", tmp_path)
    monkeypatch.setattr(runner, "BENCHMARKS", {"good": ("good.py", ["--n", "4"], ["--quick"]),
                                               "bad": ("bad.py", [], [])})
    out = tmp_path / "report.md"
    assert runner.main(["--out", str(out)]) == 1
    report = out.read_text()
    assert "## good" in report and "ratio 1.5x ['--n', '4']" in report
    assert "## bad" in report and "FAILED with exit status 1" in report
    assert "no nbgrader here" in report and "failed: bad" in report
    assert "cores" in report and "load average before" in report
    assert runner.main(["--quick", "--only", "good"]) == 0
    assert "['--quick']" in capsys.readouterr().out


def test_runner_collects_every_benchmarks_targets_into_one_table(tmp_path, monkeypatch):
    runner = load_runner()
    bench = PROJECT_ROOT / "bench"
    for name, (value, op, goal) in {"fast": (0.42, "<=", 0.5), "slow": (3.1, ">=", 4.0)}.items():
        (tmp_path / f"{name}.py").write_text(
            f"import sys; sys.path.insert(0, {str(bench)!r})\n"
            "import targets\n"
            f"targets.report({name!r}, 'the {name} ratio', {value}, {op!r}, {goal}, "
            "detail='medians of 3')\n")
    monkeypatch.setattr(runner, "BENCH", tmp_path)
    monkeypatch.setattr(runner, "BENCHMARKS", {"fast": ("fast.py", [], []),
                                               "slow": ("slow.py", [], [])})
    out = tmp_path / "report.md"
    assert runner.main(["--out", str(out)]) == 0
    report = out.read_text()
    assert "TARGET {" not in report  # the machine-readable lines are folded into the table
    table = report[report.index("## Targets"):]
    assert "| the fast ratio | <= 0.50x | 0.42x | **met** | medians of 3 |" in table
    assert "| the slow ratio | >= 4.00x | 3.10x | **missed** | medians of 3 |" in table
    assert "target: the slow ratio: 3.10x (goal >= 4.00x): missed" in report
