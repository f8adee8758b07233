"""Contact presets: what the law of a country allows a collector, as data a policy selects and can tighten.

A preset is keyed by country (ISO 3166 alpha-2) and audience: ``b2c`` (consumers, whom the laws
protect) and ``b2b`` (businesses, which these laws do not cover: a courtesy of business days and
hours, not a legal requirement). Where a figure could not be checked against a source the preset
takes the stricter reading; ``docs/policy.md`` lists each source and each unverified figure.

Caps of a preset count over any 7 consecutive local days (the reading of Regulation F's
"within a period of seven consecutive days"), which is never looser than a cap per calendar week.
"""

from __future__ import annotations

from dataclasses import dataclass

from .types import CHANNELS, ContactWindow

AUDIENCES: tuple[str, ...] = ("b2c", "b2b")
_WEEKDAYS = (1, 2, 3, 4, 5)
_NO_VISITS: tuple[str, ...] = tuple(channel for channel in CHANNELS if channel != "visit")
"""Channels of a consumer preset whose law was not read to allow in-person visits (stricter: none)."""


@dataclass(frozen=True, slots=True)
class ChannelCap:
    """Contacts allowed on one channel per local day and per 7 consecutive local days (None: no cap)."""

    per_day: int | None = None
    per_7_days: int | None = None


@dataclass(frozen=True, slots=True)
class Preset:
    """The contact rules a country's law sets for one audience."""

    country: str
    audience: str
    name: str
    timezone: str
    window: ContactWindow
    holidays: bool
    sources: tuple[str, ...]
    max_per_day: int | None = None
    max_per_7_days: int | None = None
    min_days_between: int = 0
    channel_caps: tuple[tuple[str, ChannelCap], ...] = ()
    single_channel_per_7_days: bool = False
    channels: tuple[str, ...] = CHANNELS
    unverified: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """The preset's label, e.g. ``CO/b2c``."""
        return f"{self.country}/{self.audience}"

    def channel_cap(self, channel: str) -> ChannelCap | None:
        """The cap of one channel, if the preset sets one."""
        return dict(self.channel_caps).get(channel)


def _window(hours: tuple[str, str], weekdays: tuple[int, ...], **days: tuple[str, str]) -> ContactWindow:
    numbers = {"saturday": 6, "sunday": 7}
    day_hours = tuple(sorted((numbers[name], (pair,)) for name, pair in days.items()))
    return ContactWindow(hours=(hours,), weekdays=weekdays, day_hours=day_hours)


def _b2b(country: str, timezone: str) -> Preset:
    return Preset(
        country=country,
        audience="b2b",
        name="business days and hours (courtesy; the consumer rules do not cover businesses)",
        timezone=timezone,
        window=_window(("08:00", "18:00"), _WEEKDAYS),
        holidays=True,
        sources=("no legal figure: the country's consumer-collection rules protect consumers, not businesses",),
    )


_CO = "Ley 2300 de 2023 (Colombia), art. 3"
_CL = "Ley 21.320 de 2021 (Chile), amending art. 37 of Ley 19.496"
_MX = "CONDUSEF, Disposiciones de carácter general en materia de despachos de cobranza (DOF 2014-10-07)"
_PE = "Ley 29571 (Perú), Código de Protección y Defensa del Consumidor, art. 62 b)"
_ES = "Real Decreto Legislativo 1/2007 (España), TRLGDCU art. 96 (commercial calls), by analogy"
_BR = "State laws: São Paulo Lei 15.426/2014, Rio de Janeiro Lei 7.868/2018, Espírito Santo Lei 10.626/2017"
_US_TIME = "FDCPA 15 U.S.C. 1692c(a)(1); 12 CFR 1006.6(b)(1)(i)"
_US_CALLS = "Regulation F, 12 CFR 1006.14(b)(2)(i)"

_B2C: tuple[Preset, ...] = (
    Preset(
        country="CO",
        audience="b2c",
        name="Ley 2300 de 2023",
        timezone="America/Bogota",
        window=_window(("07:00", "19:00"), (1, 2, 3, 4, 5, 6), saturday=("08:00", "15:00")),
        holidays=True,
        max_per_day=1,
        single_channel_per_7_days=True,
        channels=_NO_VISITS,
        sources=(_CO,),
        unverified=(
            "one channel per week: read as one channel in any 7 consecutive days (stricter)",
            "in-person visits: not found in the sources read; left out (stricter)",
        ),
    ),
    Preset(
        country="CL",
        audience="b2c",
        name="Ley 21.320",
        timezone="America/Santiago",
        window=_window(("08:00", "20:00"), (1, 2, 3, 4, 5, 6)),
        holidays=True,
        max_per_day=1,
        max_per_7_days=2,
        min_days_between=3,
        channel_caps=(("call", ChannelCap(per_7_days=1)), ("visit", ChannelCap(per_7_days=1))),
        sources=(_CL, "Código de Procedimiento Civil art. 59 (days and hours)"),
        unverified=(
            "one call or visit a week: encoded as 1 call and 1 visit in 7 days, within 2 contacts of any kind",
            "Monday-Saturday 08:00-20:00 and no contact on holidays: from secondary sources",
            "two remote contacts a week, two days apart: encoded as 2 contacts of any kind in 7 days, "
            "at least 3 calendar days apart (stricter)",
        ),
    ),
    Preset(
        country="MX",
        audience="b2c",
        name="CONDUSEF despachos de cobranza",
        timezone="America/Mexico_City",
        window=_window(("07:00", "22:00"), (1, 2, 3, 4, 5, 6, 7)),
        holidays=False,
        channels=_NO_VISITS,
        sources=(_MX,),
        unverified=(
            "the rules set hours only (07:00-22:00 in the debtor's time zone), no days or caps",
            "in-person visits: their conditions were not read; left out (stricter)",
        ),
    ),
    Preset(
        country="PE",
        audience="b2c",
        name="Código de Protección y Defensa del Consumidor",
        timezone="America/Lima",
        window=_window(("07:00", "20:00"), _WEEKDAYS),
        holidays=True,
        sources=(_PE,),
        unverified=("art. 62 b) names visits and calls; the preset applies it to every channel (stricter)",),
    ),
    Preset(
        country="ES",
        audience="b2c",
        name="TRLGDCU art. 96 (analogy)",
        timezone="Europe/Madrid",
        window=_window(("09:00", "21:00"), _WEEKDAYS),
        holidays=True,
        max_per_day=1,
        channels=_NO_VISITS,
        sources=(_ES,),
        unverified=(
            "in-person visits: no rule found (home visits risk harassment and privacy claims); left out (stricter)",
            "no collection-specific national rule found; hours and days of commercial calls applied",
            "at most 1 contact a day: a reading of the data-protection authority's practice (stricter)",
        ),
    ),
    Preset(
        country="BR",
        audience="b2c",
        name="state laws (strictest)",
        timezone="America/Sao_Paulo",
        window=_window(("09:00", "19:00"), _WEEKDAYS),
        holidays=True,
        max_per_day=1,
        channels=_NO_VISITS,
        sources=(_BR, "Código de Defesa do Consumidor (Lei 8.078/1990) arts. 42 and 71"),
        unverified=(
            "in-person visits: not found in the state laws read; left out (stricter)",
            "no federal hours: the strictest of the state laws found (weekdays 09:00-19:00, no weekends or holidays)",
            "state texts checked through secondary sources only",
        ),
    ),
    Preset(
        country="US",
        audience="b2c",
        name="FDCPA and Regulation F",
        timezone="America/New_York",
        window=_window(("08:00", "21:00"), (1, 2, 3, 4, 5, 6, 7)),
        holidays=False,
        channel_caps=(("call", ChannelCap(per_7_days=7)),),
        sources=(_US_TIME, _US_CALLS),
        unverified=(
            "Regulation F's 7 calls are per debt; the preset counts them per customer (stricter)",
            "no call for 7 days after a telephone conversation (1006.14(b)(2)(ii)) is not encoded",
        ),
    ),
)

PRESETS: dict[tuple[str, str], Preset] = {
    **{(p.country, p.audience): p for p in _B2C},
    **{(p.country, "b2b"): _b2b(p.country, p.timezone) for p in _B2C},
}
PRESET_COUNTRIES: tuple[str, ...] = tuple(sorted({p.country for p in _B2C}))


def preset_for(country: str, audience: str) -> Preset:
    """Return the preset of a country and audience (KeyError if there is none)."""
    return PRESETS[(country, audience)]
