"""The instructions the model sees. ``default`` is short (it is paid for on every example, in training and in
decoding); ``guided`` adds the official annotation guidelines for each type, for ablation.

Both name the 10 types with their Chinese names and the output shape of :func:`cluener.target.render_target`.
A new prompt variant is one more entry in :data:`PROMPTS`: ``make data`` then writes and registers its datasets
(``cluener_<variant>_<split>``, named by :mod:`cluener.layout`), and a recipe picks it by its ``eval_dataset``.
:func:`build_prompt` is the user turn a model sees for an alpaca record, as LLaMA-Factory builds it.
"""

from __future__ import annotations

from .labels import CHINESE_NAMES, LABELS
from .layout import DEFAULT_VARIANT

_TYPES = ",".join(f"{label}{CHINESE_NAMES[label]}" for label in LABELS)

DEFAULT_INSTRUCTION = (
    f"抽取文本中的命名实体。类型：{_TYPES}。"
    '按出现顺序输出JSON：{"类型":["实体"]}，无实体输出{}'
)

# Quoted from the README of the official repository CLUEbenchmark/CLUENER2020 (标签类别定义 & 标注规则).
GUIDELINES: dict[str, str] = {
    "address": "**省**市**区**街**号，**路，**街道，**村等（如单独出现也标记）。地址是标记尽量完全的, 标记到最细。",
    "book": "小说，杂志，习题集，教科书，教辅，地图册，食谱，书店里能买到的一类书籍，包含电子书。",
    "company": "**公司，**集团，**银行（央行，中国人民银行除外，二者属于政府机构）, 如：新东方，包含新华网/中国军网等。",
    "game": "常见的游戏，注意有一些从小说，电视剧改编的游戏，要分析具体场景到底是不是游戏。",
    "government": "包括中央行政机关和地方行政机关两级。 中央行政机关有国务院、国务院组成部门（包括各部、委员会、中国人民银行和审计署）、"
    "国务院直属机构（如海关、税务、工商、环保总局等），军队等。",
    "movie": "电影，也包括拍的一些在电影院上映的纪录片，如果是根据书名改编成电影，要根据场景上下文着重区分下是电影名字还是书名。",
    "name": "一般指人名，也包括小说里面的人物，宋江，武松，郭靖，小说里面的人物绰号：及时雨，花和尚，著名人物的别称，"
    "通过这个别称能对应到某个具体人物。",
    "organization": "篮球队，足球队，乐团，社团等，另外包含小说里面的帮派如：少林寺，丐帮，铁掌帮，武当，峨眉等。",
    "position": "古时候的职称：巡抚，知州，国师等。现代的总经理，记者，总裁，艺术家，收藏家等。",
    "scene": "常见旅游景点如：长沙公园，深圳动物园，海洋馆，植物园，黄河，长江等。",
}

GUIDED_INSTRUCTION = (
    "抽取文本中的命名实体。类型及标注规则：\n"
    + "\n".join(f"- {label}（{CHINESE_NAMES[label]}）：{GUIDELINES[label]}" for label in LABELS)
    + '\n按出现顺序输出JSON：{"类型":["实体"]}，无实体输出{}'
)

PROMPTS: dict[str, str] = {DEFAULT_VARIANT: DEFAULT_INSTRUCTION, "guided": GUIDED_INSTRUCTION}


def build_prompt(instruction: str | None, query: str | None) -> str:
    """The user turn LLaMA-Factory's alpaca converter builds: non-empty parts joined by a newline.

    >>> build_prompt("抽取实体", "张三在北京")
    '抽取实体\\n张三在北京'
    >>> build_prompt("抽取实体", "")
    '抽取实体'
    """
    return "\n".join(part for part in (instruction, query) if part)
