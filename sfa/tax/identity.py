"""Validation of tax identities: NPWP, NIK, TKU (branch) and the Coretax codes.

The 16-digit NPWP is the tax number since 2024; an old 15-digit one is accepted and
written as 16 by the leading 0 the tax office adds. A NIK (a person's identity number)
carries a province code (11-94) and a birth date (day + 40 for women).
"""

import re

from sfa.errors import InvalidInput


def digits(value: str) -> str:
    return re.sub(r"[\s.\-]", "", value or "")


def npwp(value: str) -> str:
    number = digits(value)
    if len(number) == 15 and number.isdigit():
        number = "0" + number
    if not (len(number) == 16 and number.isdigit()) or set(number) == {"0"}:
        raise InvalidInput(
            f"NPWP {value!r} is not 16 digits",
            hint="write the 16-digit NPWP (dots and dashes are ignored; "
            "an old 15-digit one gets a leading 0)",
        )
    return number


def nik(value: str) -> str:
    number = digits(value)
    if not (len(number) == 16 and number.isdigit()):
        raise InvalidInput(
            f"NIK {value!r} is not 16 digits", hint="a NIK has 16 digits, as on the KTP"
        )
    province, day, month = int(number[:2]), int(number[6:8]), int(number[8:10])
    if not 11 <= province <= 94:
        raise InvalidInput(
            f"NIK {value!r} starts with {number[:2]}, which is no province code (11-94)"
        )
    if not (1 <= day <= 31 or 41 <= day <= 71) or not 1 <= month <= 12:
        raise InvalidInput(
            f"NIK {value!r} has no valid birth date in digits 7-12 (DDMMYY, day + 40 for women)"
        )
    return number


def tku(value: str) -> str:
    number = digits(value)
    if not (len(number) == 6 and number.isdigit()):
        raise InvalidInput(
            f"TKU {value!r} is not 6 digits",
            hint="000000 is the head office; branches are numbered",
        )
    return number


def goods_code(value: str) -> str:
    if not re.fullmatch(r"[0-9]{6}", value or ""):
        raise InvalidInput(
            f"Coretax goods/service code {value!r} is not 6 digits", hint="000000 is 'other goods'"
        )
    return value


def unit_code(value: str) -> str:
    if not re.fullmatch(r"UM\.[0-9]{4}", value or ""):
        raise InvalidInput(
            f"Coretax unit code {value!r} is not of the form UM.0000", hint="UM.0021 is 'piece'"
        )
    return value
