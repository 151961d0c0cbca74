"""Random streams keyed by what an image is, never by where it stands in a list.

An image's stream comes from ``SeedSequence([seed, key, key, ...])`` (as shapelib seeds an
instance with ``SeedSequence([seed, id])``); names (microscope, view) enter as a stable 64-bit
hash, the same in every process and every Python version.
"""

from __future__ import annotations

import hashlib

import numpy as np

from shapelib import InputError

__all__ = ["name_key", "stream"]


def name_key(name: str) -> int:
    """A stable 64-bit integer for a name: the first 8 bytes of its blake2b, little-endian."""
    digest = hashlib.blake2b(str(name).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def stream(seed: int, *keys: int | str) -> np.random.Generator:
    """The generator of ``SeedSequence([seed, *keys])``; string keys enter as :func:`name_key`.

    Parameters
    ----------
    seed : int >= 0
        The run's seed.
    *keys : int >= 0 or str
        What the stream is for (a shape id, a microscope name, a view name, an image index).

    Examples
    --------
    >>> a = stream(0, 7, "Conf1").random()
    >>> b = stream(0, 7, "Conf1").random()
    >>> a == b
    True
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed must be an integer >= 0; got {seed!r}.")
    entropy = [int(seed)]
    for k in keys:
        entropy.append(name_key(k) if isinstance(k, str) else int(k))
    return np.random.default_rng(np.random.SeedSequence(entropy))
