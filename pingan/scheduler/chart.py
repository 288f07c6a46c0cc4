"""Digest charts (matplotlib, Agg, no pyplot state): Chinese labels need a CJK font. We look for
one offline (config `scheduler.chart_font`, then well-known CJK families, then any installed file
that looks like one); without one the digest is sent as text only, with a logged warning."""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

log = logging.getLogger("pingan.scheduler.chart")

CJK_FAMILIES = ("WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Noto Sans CJK SC", "Noto Sans SC",
                "Source Han Sans SC", "Source Han Sans CN", "Droid Sans Fallback", "SimHei", "Microsoft YaHei",
                "PingFang SC", "AR PL UMing CN")
CJK_FILE_HINTS = ("wqy", "notosanscjk", "notoserifcjk", "sourcehansans", "droidsansfallback", "simhei", "msyh", "uming")
DEBIAN_PACKAGE = "fonts-wqy-microhei"


@lru_cache(maxsize=4)
def find_cjk_font(preferred: str = "") -> str | None:
    """A font file that renders Chinese, or None."""
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


def _font(preferred: str):
    path = find_cjk_font(preferred)
    if path is None:
        log.warning("no CJK font found: digests are sent as text only (install %s)", DEBIAN_PACKAGE)
        return None
    from matplotlib.font_manager import FontProperties

    return FontProperties(fname=path)


def bar_chart(path: Path, title: str, labels: list[str], series: dict[str, list[int]], preferred_font: str = "") -> str | None:
    """A horizontal grouped bar chart saved as PNG; returns the path, or None without a CJK font."""
    font = _font(preferred_font)
    if font is None or not labels:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

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
