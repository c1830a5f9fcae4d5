"""Consumers and merchants: the PI the rest of the platform must protect.

People are generated once per world, never per event. Names come from Faker's zh_CN
surname frequencies and given names, drawn with our own seeded ``Random`` (calling
Faker per person costs ~50 µs and would dominate a 100k-parcel build); street names
come from a small pool produced by a seeded Faker instance.
"""

from __future__ import annotations

from itertools import accumulate
from random import Random

from faker import Faker
from faker.providers.person.zh_CN import Provider as _ZhPerson

from parcelguard.logistics.identifiers import id_check_char
from parcelguard.simulation.model import Person
from parcelguard.simulation.regions import MERCHANT_REGIONS, REGIONS, place_name

_SURNAMES = tuple(_ZhPerson.last_names)
_SURNAME_CUM = tuple(accumulate(float(w) for w in _ZhPerson.last_names.values()))
_GIVEN = tuple(_ZhPerson.first_names)

# Mobile prefixes in service (MIIT numbering plan); weights lean on the big old
# 13x/15x/18x blocks the way real subscriber bases do.
_MOBILE_PREFIXES = (
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139",
    "145", "147", "150", "151", "152", "153", "155", "156", "157", "158", "159",
    "166", "173", "175", "176", "177", "178",
    "180", "181", "182", "183", "184", "185", "186", "187", "188", "189",
    "191", "193", "195", "196", "198", "199",
)

_REGION_CODES = tuple(r.code for r in REGIONS)
_REGION_CUM = tuple(accumulate(r.weight for r in REGIONS))
_BY_CODE = {r.code: r for r in REGIONS}


def _between(rng: Random, lo: int, hi: int) -> int:
    # randint goes through three Python-level calls; this is the same draw, cheaper
    return lo + int(rng.random() * (hi - lo + 1))


def mobile(rng: Random) -> str:
    return rng.choice(_MOBILE_PREFIXES) + f"{int(rng.random() * 10**8):08d}"


def resident_id(rng: Random, region_code: str) -> str:
    """A GB 11643 number: region, birth date, sequence (odd = male), check char."""
    year = _between(rng, 1958, 2006)
    month = _between(rng, 1, 12)
    day = _between(rng, 1, 28)
    first17 = f"{region_code}{year:04d}{month:02d}{day:02d}{int(rng.random() * 1000):03d}"
    return first17 + id_check_char(first17)


def _name(rng: Random) -> str:
    surname = rng.choices(_SURNAMES, cum_weights=_SURNAME_CUM)[0]
    given = rng.choice(_GIVEN)
    # Faker's list is mostly one-character given names; two-character names are the
    # majority in the real population, so add a second character most of the time.
    if len(given) == 1 and rng.random() < 0.6:
        given += rng.choice(_GIVEN)[0]
    return surname + given


class PeopleFactory:
    def __init__(self, seed: int) -> None:
        # S311: synthetic data, not security; it must be reproducible from the seed
        self.rng = Random(f"{seed}/people")
        faker = Faker("zh_CN")
        faker.seed_instance(seed)
        self.streets = tuple(dict.fromkeys(faker.street_name() for _ in range(400)))
        self._phones: set[str] = set()
        self._ids: set[str] = set()
        self._subjects: set[str] = set()

    def _unique_phone(self) -> str:
        while True:
            phone = mobile(self.rng)
            if phone not in self._phones:
                self._phones.add(phone)
                return phone

    def _unique_subject_id(self) -> str:
        while True:
            sid = f"sub-{self.rng.getrandbits(48):012x}"
            if sid not in self._subjects:
                self._subjects.add(sid)
                return sid

    def _unique_id_number(self, region_code: str) -> str:
        while True:
            number = resident_id(self.rng, region_code)
            if number not in self._ids:
                self._ids.add(number)
                return number

    def person(self, region_code: str, merchant: bool = False) -> Person:
        rng = self.rng
        region = _BY_CODE[region_code]
        street = rng.choice(self.streets)
        number = _between(rng, 1, 1800)
        if merchant:
            # merchants ship from warehouses and market stalls, not flats
            detail = f"{number}号{_between(rng, 1, 30)}栋{_between(rng, 1, 6)}楼"
        else:
            detail = (f"{number}号{_between(rng, 1, 40)}栋{_between(rng, 1, 6)}单元"
                      f"{_between(rng, 1, 33)}{_between(rng, 1, 4):02d}室")
        return Person(
            id=self._unique_subject_id(),
            name=_name(rng),
            phone=self._unique_phone(),
            address=f"{place_name(region)}{street}{detail}",
            region_code=region_code,
            id_number=self._unique_id_number(region_code),
        )

    def consumers(self, n: int) -> list[Person]:
        codes = self.rng.choices(_REGION_CODES, cum_weights=_REGION_CUM, k=n)
        return [self.person(code) for code in codes]

    def merchants(self, n: int) -> list[Person]:
        rng = self.rng
        # most merchants sit in the e-commerce belts; some anywhere
        return [
            self.person(rng.choice(MERCHANT_REGIONS) if rng.random() < 0.7
                        else rng.choices(_REGION_CODES, cum_weights=_REGION_CUM)[0],
                        merchant=True)
            for _ in range(n)
        ]
