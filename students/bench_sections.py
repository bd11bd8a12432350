"""Benchmark sections. The bench command runs its own (seed, attendance, nightly, roster) and then
those that apps to the right of students register here from their AppConfig.ready(), so that
students does not import them. A section is ``section(ctx: BenchContext) -> list[BenchResult]``.
"""

import dataclasses
from collections.abc import Callable


@dataclasses.dataclass
class BenchResult:
    name: str
    value: float
    unit: str
    target: float | None = None  # upper bound (lower bound with at_least); None means "for information"
    at_least: bool = False

    @property
    def ok(self) -> bool | None:
        if self.target is None:
            return None
        return self.value >= self.target if self.at_least else self.value <= self.target

    @property
    def target_label(self) -> str:
        if self.target is None:
            return ""
        return f"{'≥' if self.at_least else '≤'} {self.target:,}"


@dataclasses.dataclass
class BenchContext:
    students: int
    seed: int
    write: Callable[[str], None]
    stdout: object = None  # where sections send their commands' output
    verbosity: int = 1
    data: dict = dataclasses.field(default_factory=dict)  # sections may leave things for later ones


SECTIONS: list[tuple[str, Callable[[BenchContext], list[BenchResult]]]] = []


def register(name: str, section: Callable[[BenchContext], list[BenchResult]]) -> None:
    if name not in {existing for existing, _ in SECTIONS}:
        SECTIONS.append((name, section))
