import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from students import idnumber


def test_known_valid_number_passes():
    # The GB 11643 worked example.
    assert idnumber.validate_id_number("11010519491231002x") == "11010519491231002X"


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("110105194912310021", "校验位"),
        ("11010519491231002", "18位"),
        ("1101051949123100AX", "18位"),
        ("110105194913310026", "出生日期"),
        ("110105299912310023", "出生日期"),
    ],
)
def test_bad_numbers_are_refused_with_chinese_reason(value, fragment):
    with pytest.raises(ValidationError) as exc:
        idnumber.validate_id_number(value)
    assert fragment in exc.value.messages[0]


def test_generated_numbers_are_valid_and_encode_gender_and_birth():
    born = dt.date(2013, 5, 17)
    male = idnumber.make_id_number("431226", born, 7, female=False)
    female = idnumber.make_id_number("431226", born, 7, female=True)
    assert idnumber.validate_id_number(male) == male
    assert idnumber.validate_id_number(female) == female
    assert int(male[16]) % 2 == 1
    assert int(female[16]) % 2 == 0
    assert idnumber.birth_date_of(male) == born


def test_mask_keeps_last_four():
    assert idnumber.mask("11010519491231002X") == "**************002X"
    assert idnumber.mask("") == ""
