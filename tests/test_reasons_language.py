"""The reasons a user reads speak the run's language (issue 26): facility, zone and plan reasons, and the rejects.

On the demo district (every method, the dynamic adjustment, the index of sensitive sites): with ``lang = "zh"``
no English word reaches them but technical identifiers (method names, the project's own keys and file names),
with ``lang = "en"`` no Chinese but the names and values of the data (and the spellings a register writes that an
English message quotes: "use 一级, 二级 or 三级").
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

import riskmap
from riskmap._resources import demo_dir
from riskmap.config import with_overrides
from riskmap.frames import in_language

CJK_RUN = re.compile(r"[\u3400-\u9fff]+")
WORD = re.compile(r"(?<![A-Za-z_.\[])[A-Za-z]{3,}(?![A-Za-z_\]])")
#: English a Chinese text may keep: method names, the names of files and of config keys (as written in them).
TECHNICAL = {"LEC", "CAS", "csv"}


def _texts(result: riskmap.RunResult, lang: str) -> dict[str, pd.Series]:
    fac = result.facilities
    texts = {
        "facility reasons": fac["reasons_en" if lang == "en" else "reasons"],
        "plan reasons": result.plan.plan["plan_reason"],
        "rejects": in_language(result.rejects, "reason", lang)["reason"],
    }
    for kind, z in result.zones.items():
        texts[f"{kind} reasons"] = z["reason_en" if lang == "en" else "reason"]
    return {k: v.fillna("").astype(str) for k, v in texts.items()}


def _spellings() -> set[str]:
    """Chinese the English messages quote on purpose: what a register writes (一级, 2026年3月1日, 已过期)."""
    from babel.messages.pofile import read_po

    from riskmap.i18n import LOCALE_DIR

    with (LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "riskmap.po").open("rb") as f:
        return {run for m in read_po(f) if isinstance(m.id, str) for run in CJK_RUN.findall(m.id)}


def _data_words() -> tuple[set[str], set[str]]:
    """The Chinese runs and the English words of the demo's inputs and project file: names, values, keys."""
    text = " ".join(
        pd.read_csv(p, dtype=str, keep_default_na=False).to_csv(index=False) for p in demo_dir().glob("*.csv")
    )
    text += (demo_dir() / "riskmap.toml").read_text(encoding="utf-8")
    return set(CJK_RUN.findall(text)), set(re.findall(r"[A-Za-z_]{3,}", text))


@pytest.fixture(scope="module")
def runs() -> dict[str, riskmap.RunResult]:
    config = riskmap.load_config(demo_dir() / "riskmap.toml")
    return {lang: riskmap.check(with_overrides(config, {"project.lang": lang})) for lang in ("zh", "en")}


def test_chinese_reasons_have_no_english_words(runs):
    _, keys = _data_words()
    for name, texts in _texts(runs["zh"], "zh").items():
        words = set(texts.str.findall(WORD).explode().dropna()) - TECHNICAL - keys
        assert not words, f"{name}: English in a Chinese run: {sorted(words)[:20]}"
        assert texts[texts != ""].str.contains(CJK_RUN).all(), name


def test_english_reasons_have_no_chinese_but_the_data(runs):
    data, _ = _data_words()
    data |= _spellings()
    for name, texts in _texts(runs["en"], "en").items():
        runs_ = set(texts.str.findall(CJK_RUN).explode().dropna())
        # A run of the data may be cut where the text goes on in another script (一级→0): any part of the data's.
        foreign = {r for r in runs_ if not any(r in d for d in data)}
        assert not foreign, f"{name}: Chinese in an English run: {sorted(foreign)[:20]}"
