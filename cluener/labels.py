"""The 10 CLUENER2020 entity types, in the official order, with their Chinese names."""

from __future__ import annotations

LABELS: tuple[str, ...] = (
    "address",
    "book",
    "company",
    "game",
    "government",
    "movie",
    "name",
    "organization",
    "position",
    "scene",
)

CHINESE_NAMES: dict[str, str] = {
    "address": "地址",
    "book": "书名",
    "company": "公司",
    "game": "游戏",
    "government": "政府",
    "movie": "电影",
    "name": "姓名",
    "organization": "组织机构",
    "position": "职位",
    "scene": "景点",
}

LABEL_SET = frozenset(LABELS)
