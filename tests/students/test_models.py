import pytest

from students.models import name_pinyin


@pytest.mark.parametrize(
    ("name", "full", "initials"),
    [
        ("张伟", "zhangwei", "zw"),
        ("曾小明", "zengxiaoming", "zxm"),  # surname 曾 is zēng
        ("单田芳", "shantianfang", "stf"),  # surname 单 is shàn
        ("尉迟恭", "yuchigong", "ycg"),
        ("欧阳娜娜", "ouyangnana", "oynn"),
    ],
)
def test_name_pinyin_reads_surnames_as_surnames(name, full, initials):
    assert name_pinyin(name) == (full, initials)
