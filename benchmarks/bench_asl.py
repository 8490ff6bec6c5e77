"""State transitions from ASL: the vectorized Monte Carlo vs a per-execution Python walk.

``from_asl(...).transitions(samples=10_000)`` against an anchor measured in the same run:
a plain Python interpreter of the same counting rules (state entered = 1, retried attempt
= 1, Choice Default or a bounded loop, inline Map items) walking one execution at a time
with ``random.Random``. Two public definitions from ``tests/fixtures/asl``: AWS Lambda Power
Tuning (6 power values, Executor fails 10% of attempts) and the aws-samples Map sample
(Poisson(10) items). The means are checked to agree within 2% (different random draws).
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from benchmarks.harness import Row, wall_seconds
from costmodel import from_asl

TITLE = "ASL transitions (vectorized Monte Carlo vs a per-execution Python walk)"
SAMPLES = 10_000
ASL = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "asl"
SUBSTITUTIONS = {
    name: f"arn:aws:lambda:us-east-1:1:function:{name}"
    for name in ("initializerArn", "publisherArn", "executorArn", "cleanerArn", "analyzerArn")
} | {
    "optimizerArn": "arn:aws:lambda:us-east-1:1:function:optimizer",
    "totalExecutionTimeout": "300",
}


class Walk:
    """One execution at a time, the same rules, for the states these samples use."""

    def __init__(self, usage: dict[str, Any], seed: int) -> None:
        self.usage = usage
        self.r = random.Random(seed)

    def items(self, name: str) -> int:
        spec = self.usage[name]["items"]
        if isinstance(spec, int):
            return spec
        return _poisson(self.r, spec["poisson"])

    def block(self, block: dict[str, Any]) -> tuple[int, bool]:
        name, total, loops = block["StartAt"], 0, dict.fromkeys(block["States"], 0)
        while name is not None:
            state = block["States"][name]
            total += 1
            kind = state["Type"]
            if kind == "Task":
                retries, ok = self.attempts(name, state)
                total += retries
                if not ok:
                    return total, False
            elif kind == "Map":
                for _ in range(self.items(name)):
                    total += self.block(state.get("ItemProcessor") or state["Iterator"])[0]
            elif kind == "Choice":
                bound = self.usage.get(name, {}).get("iterations")
                if bound is not None and loops[name] < bound:
                    loops[name] += 1
                    name = state["Choices"][0]["Next"]
                    continue
                name = state["Default"]
                continue
            name = state.get("Next")
        return total, True

    def attempts(self, name: str, state: dict[str, Any]) -> tuple[int, bool]:
        p = self.usage.get(name, {}).get("failure_probability", 0.0)
        rules = state.get("Retry", [])
        most = rules[0].get("MaxAttempts", 3) if rules else 0
        for retry in range(most + 1):
            if self.r.random() >= p:
                return retry, True
        return most, False


def _poisson(r: random.Random, lam: float) -> int:
    count, product, limit = 0, r.random(), pow(2.718281828459045, -lam)
    while product > limit:
        count += 1
        product *= r.random()
    return count


def _case(path: Path, usage: dict[str, Any], **options: Any) -> tuple[float, float, float, float]:
    sm = from_asl(path, usage={"states": usage}, **options)
    text = path.read_text()
    for key, value in options.get("substitutions", {}).items():
        text = text.replace("${" + key + "}", value)
    definition = json.loads(text)
    ours_s = wall_seconds(lambda: sm.transitions(samples=SAMPLES, seed=1))
    walk = Walk(usage, 1)
    loop_s = wall_seconds(lambda: [walk.block(definition) for _ in range(SAMPLES)])
    ours_mean = float(sm.transitions(samples=SAMPLES, seed=1).mean())
    check = Walk(usage, 2)
    loop_mean = sum(check.block(definition)[0] for _ in range(SAMPLES)) / SAMPLES
    assert abs(ours_mean - loop_mean) <= 0.02 * loop_mean, (ours_mean, loop_mean)
    return ours_s, loop_s, ours_mean, loop_mean


def run() -> list[Row]:
    """Seconds for 10,000 executions, ours vs the Python walk."""
    tuning = _case(
        ASL / "power-tuning.asl.json",
        {
            "Branching": {"items": 6},
            "IsCountReached": {"iterations": 5},
            "Executor": {"failure_probability": 0.1},
        },
        substitutions=SUBSTITUTIONS,
    )
    mapped = _case(ASL / "map-state.asl.json", {"Process Messages": {"items": {"poisson": 10}}})
    return [
        Row(
            f"Power Tuning, 6 values: 10k executions (mean {tuning[2]:.2f} vs {tuning[3]:.2f})",
            tuning[0],
            tuning[1],
            "s",
            "< 1x",
        ),
        Row(
            f"Map sample, Poisson(10) items: 10k runs (mean {mapped[2]:.1f} vs {mapped[3]:.1f})",
            mapped[0],
            mapped[1],
            "s",
            "< 1x",
        ),
    ]
