"""The words of a 目标责任书: default targets per kind, the built-in printable texts, the placeholders a
county's own text may use, and the rendering of a pledge into its printable text.

A template is plain text with placeholders in braces (``{school}``, ``{targets}`` …); ``{{`` and ``}}``
print a brace. Only the names in :data:`PLACEHOLDERS` are allowed, bare (no ``{school.name}``, no
``{school!r}``, no ``{school:>10}``): a template is checked when the bureau saves it, and rendered
with text values only, so a stored template can never reach into the objects behind it.
"""

import string
from decimal import Decimal

from students.errors import InvalidInput

from ..models import AccountabilityPolicy, Pledge
from ..models.pledges import PledgeKind

K = PledgeKind

PLACEHOLDERS: dict[str, str] = {
    "county": "县(区)名称",
    "school": "学校名称",
    "term": "学期,如“2026-2027 秋季学期”",
    "kind": "责任书类别,如“校长—班主任”",
    "party_a": "甲方姓名",
    "party_b": "乙方姓名(学校—家长责任书为家长姓名)",
    "student": "学生姓名(学校—家长责任书)",
    "classroom": "学生班级(学校—家长责任书)",
    "guardian": "家长(监护人)姓名(学校—家长责任书)",
    "targets": "责任目标,逐条编号(正文必须包含)",
    "dropout_target": "学校辍学率控制目标,如“0.6%”",
    "signed_on": "签订日期(未签订时留空白)",
}
MAX_TARGETS = 20
TARGET_MAX_CHARS = 200

_HEAD = "控辍保学目标责任书"
_TERM_CLAUSE = "本责任书一式两份,甲乙双方各执一份,自签订之日起至{term}结束有效。"

DEFAULT_TEMPLATES: dict[str, tuple[str, str]] = {
    K.BUREAU_PRINCIPAL: (
        _HEAD,
        "甲方:{county}教育局(代表:{party_a})\n"
        "乙方:{school}(校长:{party_b})\n"
        "\n"
        "为认真贯彻《中华人民共和国义务教育法》,落实控辍保学“双线目标责任制”,确保适龄儿童少年依法接受并完成"
        "义务教育,经甲乙双方协商,签订{term}控辍保学目标责任书。\n"
        "一、责任目标\n"
        "{targets}\n"
        "二、乙方责任\n"
        "1. 校长是本校控辍保学第一责任人,开学初建立控辍保学领导小组,领导成员分工包干年级、班级。\n"
        "2. 与班主任、任课教师层层签订控辍目标责任书,把控辍保学作为考核领导、班主任、任课教师的重要指标。\n"
        "3. 落实班主任日报告、值班校领导周报告制度;疑似辍学学生按规定期限报告教育局,辍学学生一人一案、劝返到位。\n"
        "三、考核奖惩\n"
        "甲方按本责任书对乙方进行督导考核,考核结果纳入学校年度考核;辍学率超过控制目标且整改不到位的,"
        "实行“一票否决”。\n"
        "四、" + _TERM_CLAUSE,
    ),
    K.PRINCIPAL_TEACHER: (
        _HEAD,
        "甲方:{school}(代表:{party_a})\n"
        "乙方:班主任 {party_b}\n"
        "\n"
        "为落实学校控辍保学“双线目标责任制”,做到人人有责任、人人有劝学对象,经甲乙双方协商,"
        "签订{term}控辍保学目标责任书。\n"
        "一、责任目标\n"
        "{targets}\n"
        "二、乙方责任\n"
        "1. 班主任是本班控辍保学直接责任人,严格履行日报告制度,每个上学日向值班校领导报告学生在校情况。\n"
        "2. 学生无故缺勤当天联系家长;发现疑似辍学及时报告学校,参与劝返并做好记录。\n"
        "3. 关注留守、贫困、学困、单亲等学生,及时家访、谈心,争创“无辍班”。\n"
        "三、考核奖惩\n"
        "控辍保学工作与乙方的考评、聘评、评先、树优挂钩,有成绩同奖,有问题同罚;因工作失职造成学生流失的,"
        "年度考核不得评为优秀。\n"
        "四、" + _TERM_CLAUSE,
    ),
    K.PRINCIPAL_SUBJECT_TEACHER: (
        _HEAD,
        "甲方:{school}(代表:{party_a})\n"
        "乙方:任课教师 {party_b}\n"
        "\n"
        "为落实学校控辍保学“双线目标责任制”,做到人人有责任、人人有劝学对象,经甲乙双方协商,"
        "签订{term}控辍保学目标责任书。\n"
        "一、责任目标\n"
        "{targets}\n"
        "二、乙方责任\n"
        "1. 配合班主任做好所任教班级和所包保学生的控辍保学工作,掌握所包保学生的第一手情况。\n"
        "2. 改进教学方法,培养学困生的学习兴趣;不歧视学困生,不体罚或变相体罚学生,不随意停学生的课。\n"
        "3. 利用双休日和假期对所包保学生家访、沟通,形成记录并及时反馈学校。\n"
        "三、考核奖惩\n"
        "控辍保学工作与乙方的考评、聘评、评先、树优挂钩,有成绩同奖,有问题同罚;因工作失职造成学生流失的,"
        "年度考核不得评为优秀。\n"
        "四、" + _TERM_CLAUSE,
    ),
    K.SCHOOL_FAMILY: (
        "控辍保学家校责任书",
        "甲方:{school}(代表:{party_a})\n"
        "乙方:{classroom}学生 {student} 的家长(监护人){guardian}\n"
        "\n"
        "《中华人民共和国义务教育法》第五条规定:适龄儿童、少年的父母或者其他法定监护人应当依法保证其按时入学"
        "接受并完成义务教育。为保障 {student} 同学完成九年义务教育,学校与家长签订本责任书。\n"
        "一、家长责任\n"
        "{targets}\n"
        "二、学校责任\n"
        "1. 依法保障学生受教育的权利,不因学校内部原因使学生辍学。\n"
        "2. 关心学生的学习和生活,学生缺勤当天与家长联系,定期家访。\n"
        "3. 对家庭经济困难的学生按规定落实资助,对学困学生开展帮扶。\n"
        "三、" + _TERM_CLAUSE,
    ),
}


def percent(value: Decimal | int | float) -> str:
    """A percentage as people write it: 0.60 → "0.6", 95.00 → "95"."""
    number = Decimal(str(value)).normalize()
    return format(number, "f")


def _clock(value) -> str:
    """ "10:00" from a time (a policy just created still holds its default as text)."""
    return value.strftime("%H:%M") if hasattr(value, "strftime") else str(value)[:5]


def default_targets(kind: str, *, dropout_target: Decimal, policy: AccountabilityPolicy) -> list[str]:
    """The targets a pledge of ``kind`` gets when none are written: the school's dropout-rate target and
    the county's own thresholds (accountability.policy), so the paper says what the system measures."""
    rate = percent(dropout_target)
    visits = policy.home_visits_per_term
    if kind == K.BUREAU_PRINCIPAL:
        return [
            f"全校学年辍学率控制在学校控制目标({rate}%)以内",
            f"义务教育巩固率不低于{percent(policy.target_retention)}%",
            f"各班每个上学日按时报告考勤,日报按时率不低于{percent(policy.target_report_on_time)}%",
            f"学校控辍保学周报按时签发,按时签发率不低于{percent(policy.target_signoff_on_time)}%",
            "疑似辍学学生按规定期限报告教育局;辍学学生一人一案,劝返到位",
        ]
    if kind == K.PRINCIPAL_TEACHER:
        return [
            f"本班学年辍学率不超过学校控制目标({rate}%),争创“无辍班”",
            f"每个上学日{_clock(policy.report_by)}前报告本班考勤(全勤也须零报告)",
            f"预警学生在{policy.flag_ack_school_days}个上学日内处理",
            f"每学期对预警学生家访不少于{visits}次,并做好记录",
            "学生无故缺勤当天联系家长,疑似辍学及时报告学校并参与劝返",
        ]
    if kind == K.PRINCIPAL_SUBJECT_TEACHER:
        return [
            f"所任教班级学年辍学率不超过学校控制目标({rate}%),所包保学生无一流失",
            f"每学期对所包保的预警学生家访不少于{visits}次,并做好记录",
            "发现学生缺课、厌学及时告知班主任,配合劝返",
            "不歧视学困生,不体罚或变相体罚学生,不随意停学生的课",
        ]
    return [
        "依法保证子女按时入学、按时到校,接受并完成九年义务教育",
        "子女因病、因事不能到校时,当天向班主任请假",
        "不让子女辍学、外出务工或早婚早育",
        "配合学校做好家访、劝返和帮扶工作,保持联系电话畅通",
    ]


def clean_targets(targets) -> list[str]:
    """The written targets, one sentence each, blanks dropped; refused when too many or too long."""
    if targets is None:
        return []
    if isinstance(targets, str) or not isinstance(targets, list | tuple):
        raise InvalidInput("目标须为逐条的列表")
    cleaned: list[str] = []
    for item in targets:
        if not isinstance(item, str):
            raise InvalidInput("每项目标须为一句文字")
        text = " ".join(item.split())
        if not text:
            continue
        if len(text) > TARGET_MAX_CHARS:
            raise InvalidInput(f"每项目标最多 {TARGET_MAX_CHARS} 个字(第 {len(cleaned) + 1} 项为 {len(text)} 个字)")
        cleaned.append(text)
    if len(cleaned) > MAX_TARGETS:
        raise InvalidInput(f"目标最多 {MAX_TARGETS} 项,现为 {len(cleaned)} 项")
    return cleaned


# --- templates ----------------------------------------------------------------------------------


def _names(text: str, label: str) -> list[str]:
    """The placeholder names of ``text`` in order; malformed braces and anything but a bare name are refused."""
    names = []
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError:
        raise InvalidInput(
            f"{label}中的花括号不成对:占位符写作 {{school}},要显示花括号本身请写成 {{{{ 或 }}}}"
        ) from None
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name or spec or conversion or not name.isidentifier():
            shown = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
            raise InvalidInput(f"{label}中的占位符“{shown[:40]}”无效:只能写 {{名称}},如 {{school}}")
        names.append(name)
    return names


def check_template(title: str, body: str) -> None:
    """Refuse (400) a template with unknown or malformed placeholders, or without ``{targets}``."""
    used = _names(title, "标题") + _names(body, "正文")
    unknown = sorted({name for name in used if name not in PLACEHOLDERS})
    if unknown:
        allowed = "、".join(f"{{{name}}}" for name in PLACEHOLDERS)
        raise InvalidInput(f"模板中有未知的占位符:{'、'.join(f'{{{n}}}' for n in unknown)};可用的占位符:{allowed}")
    if "targets" not in _names(body, "正文"):
        raise InvalidInput("正文须包含 {targets}(责任目标)占位符")


def values_for(pledge: Pledge) -> dict[str, str]:
    """Every placeholder's text for one pledge (expects school__county, term__school_year, parties, student)."""
    student = pledge.student
    family = pledge.kind == K.SCHOOL_FAMILY
    return {
        "county": pledge.school.county.name,
        "school": pledge.school.name,
        "term": str(pledge.term),
        "kind": str(pledge.get_kind_display()),
        "party_a": str(pledge.party_a),
        "party_b": pledge.guardian_name if family else str(pledge.party_b or ""),
        "student": student.name if student else "",
        "classroom": student.classroom.name if student and student.classroom else "",
        "guardian": pledge.guardian_name,
        "targets": "\n".join(f"{n}. {text}" for n, text in enumerate(pledge.targets or [], start=1)),
        "dropout_target": f"{percent(pledge.school.dropout_rate_target)}%",
        "signed_on": f"{pledge.signed_on:%Y年%m月%d日}" if pledge.signed_on else "    年  月  日",
    }


def render(pledge: Pledge, template: tuple[str, str] | None = None) -> tuple[str, list[str]]:
    """The printable title and the body's lines for ``pledge``, from ``template`` (title, body) or the
    built-in text of its kind. A stored template that no longer passes the check falls back to the built-in."""
    title, body = template or DEFAULT_TEMPLATES[pledge.kind]
    try:
        check_template(title, body)
    except InvalidInput:
        title, body = DEFAULT_TEMPLATES[pledge.kind]
    values = values_for(pledge)
    return title.format_map(values), body.format_map(values).splitlines()
