"""Named microscopes of 3DMSL's Table 2 (Conf1, Conf2, Epi1) and the name -> preset registry.

Table 2 gives emission wavelength, pixel size, NA and magnification. The rest is ours and said
here: oil immersion (n 1.515), aqueous sample (n 1.33); the confocals use a 0.3 Airy-unit
pinhole and excitation at 561 nm (Conf1) and 445 nm (Conf2), which puts their in-focus lateral
FWHM within 5% of the Table's optical resolution (0.51 lambda / NA / sqrt 2).
"""

from __future__ import annotations

from shapelib import InputError

from ._config import Labelling, Microscope, Optics, PhysicalCamera

__all__ = ["CONF1", "CONF2", "EPI1", "PRESETS", "get_preset"]

CONF1 = Microscope(
    name="Conf1",
    optics=Optics(
        modality="confocal",
        emission_wavelength_nm=600,
        excitation_wavelength_nm=561,
        NA=1.4,
        magnification=63,
        pixel_size_nm=70,
        pinhole_au=0.3,
    ),
    camera=PhysicalCamera(),
    labelling=Labelling(),
)
CONF2 = Microscope(
    name="Conf2",
    optics=Optics(
        modality="confocal",
        emission_wavelength_nm=488,
        excitation_wavelength_nm=445,
        NA=1.4,
        magnification=63,
        pixel_size_nm=48,
        pinhole_au=0.3,
    ),
    camera=PhysicalCamera(),
    labelling=Labelling(),
)
EPI1 = Microscope(
    name="Epi1",
    optics=Optics(
        modality="widefield",
        emission_wavelength_nm=688,
        NA=1.42,
        magnification=60,
        pixel_size_nm=109,
    ),
    camera=PhysicalCamera(),
    labelling=Labelling(),
)

PRESETS: dict[str, Microscope] = {"Conf1": CONF1, "Conf2": CONF2, "Epi1": EPI1}


def get_preset(name: str) -> Microscope:
    """The preset microscope called ``name`` (case-insensitive: Conf1, Conf2, Epi1)."""
    for key, value in PRESETS.items():
        if key.lower() == str(name).strip().lower():
            return value
    raise InputError(
        f"unknown microscope preset {name!r}; valid presets: {', '.join(PRESETS)}. "
        "Or describe your own microscope in a YAML file (--config)."
    )
