"""Digest charts (matplotlib, Agg, no pyplot state): Chinese labels need a CJK font. We look for
one offline (config `scheduler.chart_font`, then well-known CJK families, then any installed file
that looks like one); without one the digest is sent as text only, with a logged warning.

`ChartPool` draws them off the event loop: a handful in a thread, a city's worth in worker
processes."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

log = logging.getLogger("pingan.reports.chart")

CJK_FAMILIES = ("WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Noto Sans CJK SC", "Noto Sans SC",
                "Source Han Sans SC", "Source Han Sans CN", "Droid Sans Fallback", "SimHei", "Microsoft YaHei",
                "PingFang SC", "AR PL UMing CN")
CJK_FILE_HINTS = ("wqy", "notosanscjk", "notoserifcjk", "sourcehansans", "droidsansfallback", "simhei", "msyh", "uming")
DEBIAN_PACKAGE = "fonts-wqy-microhei"


def find_cjk_font(preferred: str = "") -> str | None:
    """A font file that renders Chinese, or None. A plain str: matplotlib's own `FontPath` does not
    survive pickling to a chart worker process."""
    path = _find_cjk_font(preferred)
    return None if path is None else str(path)


@lru_cache(maxsize=4)
def _find_cjk_font(preferred: str):
    try:
        from matplotlib import font_manager
        from matplotlib.font_manager import FontProperties
    except ImportError:
        return None
    if preferred:
        if Path(preferred).is_file():
            return preferred
        try:
            return font_manager.findfont(FontProperties(family=preferred), fallback_to_default=False)
        except ValueError:
            log.warning("chart_font %r not found; looking for another CJK font", preferred)
    for family in CJK_FAMILIES:
        try:
            return font_manager.findfont(FontProperties(family=family), fallback_to_default=False)
        except ValueError:
            continue
    for path in sorted(font_manager.findSystemFonts()):  # installed after matplotlib built its cache
        if any(h in Path(path).name.lower().replace("-", "").replace("_", "") for h in CJK_FILE_HINTS):
            return path
    return None


def font_file(preferred: str = "") -> str | None:
    """`find_cjk_font`, with the operator told when there is none."""
    path = find_cjk_font(preferred)
    if path is None:
        log.warning("no CJK font found: digests are sent as text only (install %s)", DEBIAN_PACKAGE)
    return path


def bar_chart(path: Path, title: str, labels: list[str], series: dict[str, list[int]], font: str) -> str | None:
    """A horizontal grouped bar chart saved as PNG, its text in the `font` file; returns the path
    (None when there is nothing to draw)."""
    if not labels:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    font = FontProperties(fname=font)

    n = len(labels)
    fig = Figure(figsize=(7, max(2.6, 0.42 * n + 1.4)), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    k = len(series)
    height = 0.8 / max(1, k)
    for i, (name, values) in enumerate(series.items()):
        ys = [y + (i - (k - 1) / 2) * height for y in range(n)]
        bars = ax.barh(ys, values, height=height, label=name)
        for bar, v in zip(bars, values):
            if v:
                ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f" {v}", va="center", fontsize=8)
    ax.set_yticks(range(n))
    ax.set_yticklabels(labels, fontproperties=font)
    ax.invert_yaxis()
    ax.set_title(title, fontproperties=font)
    ax.legend(prop=font, loc="lower right")
    ax.spines[["top", "right"]].set_visible(False)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return str(path)


@dataclass(frozen=True)
class ChartJob:
    path: Path
    title: str
    labels: list[str]
    series: dict[str, list[int]]


class ChartPool:
    """Draws digest charts off the event loop. A chart is ~130 ms of matplotlib, so a city's 4,351
    community charts are minutes of CPU; in a thread that holds the GIL against the loop (it ran
    about 3× slower), so more than a handful go to worker processes. They are spawned, not forked
    (forking a process that runs threads and an event loop is unsafe), on first use, and kept until
    `close`. A chart that fails is logged and its digest goes out as text."""

    IN_THREAD = 12  # a street's charts: not worth starting a process for

    def __init__(self, processes: int, preferred_font: str = "") -> None:
        self.processes, self.preferred_font = processes, preferred_font
        self.pool: ProcessPoolExecutor | None = None

    async def draw(self, jobs: list[ChartJob]) -> list[str | None]:
        """The PNG paths, in the jobs' order (None for a chart not drawn)."""
        font = font_file(self.preferred_font) if jobs else None
        if font is None:
            return [None] * len(jobs)
        if not self.processes or len(jobs) <= self.IN_THREAD:
            results = []
            for job in jobs:  # one at a time: threads side by side would crowd the loop off the GIL
                try:
                    results.append(await asyncio.to_thread(bar_chart, *self._args(job, font)))
                except Exception as exc:
                    results.append(exc)
        else:
            pool = self.pool = self.pool or ProcessPoolExecutor(
                self.processes, mp_context=multiprocessing.get_context("spawn"))
            loop = asyncio.get_running_loop()
            results = await asyncio.gather(
                *(loop.run_in_executor(pool, bar_chart, *self._args(job, font)) for job in jobs),
                return_exceptions=True)
            if any(isinstance(r, BrokenProcessPool) for r in results):
                log.error("a chart worker process died; new ones start with the next digest")
                pool.shutdown(wait=False, cancel_futures=True)
                if self.pool is pool:
                    self.pool = None
        paths = []
        for job, result in zip(jobs, results):
            if isinstance(result, BaseException):
                log.error("chart %s not drawn, its digest goes out as text: %r", job.path, result)
                result = None
            paths.append(result)
        return paths

    @staticmethod
    def _args(job: ChartJob, font: str) -> tuple:
        return job.path, job.title, job.labels, job.series, font

    async def close(self) -> None:
        if self.pool is not None:
            pool, self.pool = self.pool, None
            await asyncio.to_thread(pool.shutdown, True, cancel_futures=True)
