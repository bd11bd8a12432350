"""Chinese resident identity numbers (居民身份证号码, GB 11643-1999)."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"


def check_char(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def normalize(value: str) -> str:
    return (value or "").strip().replace(" ", "").upper()


def birth_date_of(value: str) -> dt.date | None:
    try:
        return dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return None


def validate_id_number(value: str) -> str:
    """Return the normalised number or raise ValidationError with a Chinese message."""
    number = normalize(value)
    if len(number) != 18 or not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise ValidationError(_("身份证号应为18位:前17位数字,最后一位为数字或X"), code="format")
    born = birth_date_of(number)
    if born is None or born > timezone.localdate() or born.year < 1900:
        raise ValidationError(_("身份证号中的出生日期无效"), code="birth_date")
    if check_char(number[:17]) != number[17]:
        raise ValidationError(_("身份证号校验位错误,请核对"), code="checksum")
    return number


def make_id_number(region: str, born: dt.date, sequence: int, female: bool) -> str:
    """Build a valid-checksum number (demo data and tests). The 17th digit is odd for males."""
    seq = sequence % 500 * 2 + (0 if female else 1)
    first17 = f"{region[:6]:0>6}{born:%Y%m%d}{seq:03d}"
    return first17 + check_char(first17)


def mask(value: str, visible: int = 4) -> str:
    if not value:
        return ""
    return "*" * max(len(value) - visible, 0) + value[-visible:]
