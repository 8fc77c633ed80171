"""Dutch names and valid-looking BSNs: the personal data a real HRIS export carries.

They exist only so ingestion can prove it drops them; no generated name or BSN may reach the
warehouse.
"""

import numpy as np

FIRST_NAMES = [
    "Daan",
    "Sem",
    "Lucas",
    "Levi",
    "Finn",
    "Milan",
    "Jesse",
    "Thomas",
    "Bram",
    "Ruben",
    "Emma",
    "Julia",
    "Mila",
    "Tess",
    "Sophie",
    "Zoë",
    "Sara",
    "Anna",
    "Noor",
    "Evi",
    "Fleur",
    "Lotte",
    "Sanne",
    "Femke",
    "Mohamed",
    "Yusuf",
    "Fatima",
    "Aïcha",
    "Priya",
    "Chen",
    "Joris",
    "Maarten",
    "Ingrid",
    "Els",
    "Henk",
    "Marieke",
    "Kees",
]
TUSSENVOEGSELS = ["", "", "", "van ", "de ", "van der ", "van den ", "ter "]
LAST_NAMES = [
    "Jansen",
    "Bakker",
    "Visser",
    "Smit",
    "Meijer",
    "Mulder",
    "Bos",
    "Vos",
    "Peters",
    "Hendriks",
    "Dekker",
    "Brouwer",
    "Dijkstra",
    "Berg",
    "Vries",
    "Leeuwen",
    "Wit",
    "Dam",
    "Groot",
    "Yılmaz",
    "El Amrani",
    "Çelik",
    "Kramer",
    "Huisman",
    "Willems",
    "Koster",
    "Prins",
    "Boer",
    "Kok",
    "Graaf",
    "Hoek",
    "Linden",
    "Veen",
    "Wijk",
]
# cp1252 cannot hold every character; Dutch exports transliterate, so names stay encodable.
_CP1252_SAFE = str.maketrans({"ı": "i", "Ç": "C", "ç": "c"})


def full_names(rng: np.random.Generator, n: int) -> list[str]:
    first = rng.integers(0, len(FIRST_NAMES), n)
    middle = rng.integers(0, len(TUSSENVOEGSELS), n)
    last = rng.integers(0, len(LAST_NAMES), n)
    return [
        f"{FIRST_NAMES[f]} {TUSSENVOEGSELS[m]}{LAST_NAMES[s]}".translate(_CP1252_SAFE)
        for f, m, s in zip(first, middle, last, strict=True)
    ]


def bsns(rng: np.random.Generator, n: int) -> list[str]:
    """Nine digits passing the 11-proef (9*d1 + ... + 2*d8 - d9 divisible by 11)."""
    digits = rng.integers(0, 10, size=(n, 8))
    digits[:, 0] = rng.integers(1, 7, n)
    weights = np.arange(9, 1, -1)
    while True:
        check = (digits @ weights) % 11
        bad = check == 10
        if not bad.any():
            break
        digits[bad, 7] = (digits[bad, 7] + 1) % 10
    full = np.concatenate([digits, check[:, None]], axis=1)
    return ["".join(map(str, row)) for row in full]
